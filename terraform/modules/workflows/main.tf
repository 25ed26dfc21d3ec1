# One state machine per rendered definition (STANDARD unless `workflow_types` says EXPRESS), with its own log group (ALL + execution data), X-Ray tracing
# and a least-privilege role.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  # The state machine ARN built from its name (documented format), so the role's trust can name it before it exists.
  state_machine_arn_prefix = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:stateMachine:${var.name_prefix}-"

  rendered = {
    for wf in var.workflow_names : wf => file("${var.definitions_dir}/${wf}.asl.json")
  }
  # A function with provisioned concurrency is invoked through its alias: every task naming the function's ARN names
  # `<arn>:<alias>` instead (one regex over the rendered text: the ARNs of the qualified functions, as JSON strings).
  qualified_arns  = { for s, q in var.function_qualifiers : var.function_arns[s] => q if contains(keys(var.function_arns), s) }
  qualify_pattern = length(local.qualified_arns) == 0 ? null : "/\"(${join("|", sort(keys(local.qualified_arns)))})\"/"
  definitions = {
    for wf, text in local.rendered : wf => local.qualify_pattern == null ? text : replace(text, local.qualify_pattern, "\"$${1}:${one(distinct(values(local.qualified_arns)))}\"")
  }

  types = { for wf in var.workflow_names : wf => lookup(var.workflow_types, wf, "STANDARD") }

  # The payment parking budget each definition was rendered with (the order workflow's `WithinParkingBudget`
  # Choice); null: the workflow does not park. An EXPRESS one may park at most var.express_parking_budget_seconds.
  parking_budget_seconds = {
    for wf, d in local.rendered : wf => try(tonumber(jsondecode(d).States.WithinParkingBudget.Choices[0].NumericGreaterThan), null)
  }

  # The services each workflow declares it invokes (workflow/integrations.json; scripts/render.py refuses a
  # definition that invokes anything else): exactly what its role may invoke.
  invoked_services = { for wf in var.workflow_names : wf => sort(lookup(var.invoked_services, wf, [])) }
  unknown_services = {
    for wf, services in local.invoked_services : wf => [for s in services : s if !contains(keys(var.function_arns), s)]
  }
  # The table actions each workflow declares (integrations.json `tables`), as table -> IAM actions.
  table_actions = { for wf in var.workflow_names : wf => { for table, actions in lookup(var.table_actions, wf, {}) : table => sort(distinct(actions)) } }
  unknown_tables = {
    for wf, tables in local.table_actions : wf => [for t in keys(tables) : t if !contains(keys(var.table_arns), t)]
  }
  # The events each workflow declares it puts (integrations.json `events`, as source -> detail-types): one PutEvents
  # statement per source, conditioned on that source and exactly its detail-types. EventBridge authorises each entry
  # of a PutEvents by events:source and events:detail-type, and one statement naming two sources would allow every
  # source x detail-type pair (as the root's service_policy_statements).
  published_events = {
    for wf in var.workflow_names : wf => { for source, detail_types in lookup(var.published_events, wf, {}) : source => sort(distinct(detail_types)) }
  }
  event_statements = {
    for wf, sources in local.published_events : wf => [
      for i, source in sort(keys(sources)) : {
        sid          = length(sources) > 1 ? "PutEventsOnBus${i + 1}" : "PutEventsOnBus"
        source       = source
        detail_types = sources[source]
      }
    ]
  }
  # Each invoked function and its versions/aliases (`<arn>:<qualifier>`).
  invoke_resources = {
    for wf, services in local.invoked_services : wf => flatten([
      for s in services : [var.function_arns[s], "${var.function_arns[s]}:*"] if contains(keys(var.function_arns), s)
    ])
  }
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Execution logs are kept 14 days (contract); long-term audit lives in the orders table's statusHistory.
  for_each = toset(var.workflow_names)

  name              = "/aws/vendedlogs/states/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# Confused-deputy guard (Step Functions developer guide, "Cross-service confused deputy prevention"): only Step
# Functions acting for this account's state machine of this name (and its versions/aliases).
module "trust_policy" {
  source   = "../trust_policy"
  for_each = toset(var.workflow_names)

  service         = "states.amazonaws.com"
  source_account  = data.aws_caller_identity.current.account_id
  source_arn_test = "ArnLike"
  source_arns     = ["${local.state_machine_arn_prefix}${each.key}", "${local.state_machine_arn_prefix}${each.key}:*"]
}

resource "aws_iam_role" "this" {
  for_each = toset(var.workflow_names)

  name               = "${var.name_prefix}-${each.key}-sfn"
  description        = "Execution role of the ${var.name_prefix}-${each.key} state machine"
  assume_role_policy = module.trust_policy[each.key].json
  tags               = var.tags
}

# The workflows call Lambda (`arn:aws:states:::lambda:invoke`) for every status write and every event, so a role needs
# `lambda:InvokeFunction` on exactly the functions its workflow declares; and DynamoDB integrations only where a Lambda
# would just forward one call (order-processing's OwnOrder records the owning execution: `dynamodb:UpdateItem` on the
# orders table; the finalize fragment's Settle deletes the outbox duty: `dynamodb:DeleteItem` on the outbox table), so
# a role may do exactly the table actions its workflow declares, on those tables, and use the stack's
# key for them through DynamoDB only (kms:ViaService). EventBridge only where the workflow declares `events` (its
# events:putEvents tasks): events:PutEvents on the stack's bus, one statement per source conditioned on events:source
# and exactly that source's events:detail-type values; none otherwise. The state machines have no
# encryption_configuration (no customer-managed key of their own), and CloudWatch Logs encrypts the log groups under
# the key policy's grant to the Logs service, not with the writer's permissions.
# Resource "*" appears only in the XRayTracing and LogDelivery statements: X-Ray and CloudWatch Logs vended-log
# delivery APIs support no resource-level permissions (AWS Step Functions developer guide, "IAM policies for
# logging"/"X-Ray"). terraform/tests/root.tftest.hcl fails on any other "*" resource.
data "aws_iam_policy_document" "this" {
  for_each = toset(var.workflow_names)

  dynamic "statement" {
    for_each = length(local.invoke_resources[each.key]) > 0 ? [local.invoke_resources[each.key]] : []
    content {
      sid       = "InvokeOwnFunctions"
      effect    = "Allow"
      actions   = ["lambda:InvokeFunction"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = { for table, actions in local.table_actions[each.key] : table => actions if contains(keys(var.table_arns), table) }
    content {
      sid       = "Table${join("", [for part in split("-", statement.key) : title(part)])}"
      effect    = "Allow"
      actions   = [for action in statement.value : "dynamodb:${action}"]
      resources = [var.table_arns[statement.key]]
    }
  }

  dynamic "statement" {
    for_each = length(local.table_actions[each.key]) > 0 ? [true] : []
    content {
      sid       = "UseTableKeyThroughDynamoDB"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    # without a bus nothing is granted (and the role policy's precondition refuses the declaration)
    for_each = var.event_bus_arn == null ? [] : local.event_statements[each.key]
    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [var.event_bus_arn]
      condition {
        test     = "StringEquals"
        variable = "events:source"
        values   = [statement.value.source]
      }
      condition {
        test     = "StringEquals"
        variable = "events:detail-type"
        values   = statement.value.detail_types
      }
    }
  }

  statement {
    sid    = "XRayTracing"
    effect = "Allow"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "LogDelivery"
    effect = "Allow"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = toset(var.workflow_names)

  name   = "${var.name_prefix}-${each.key}-sfn-least-privilege"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.this[each.key].json

  lifecycle {
    precondition {
      condition     = contains(keys(var.invoked_services), each.key)
      error_message = "${each.key}: workflow/integrations.json declares nothing for it, so its role could invoke no function; declare the services it invokes."
    }
    precondition {
      condition     = length(local.unknown_tables[each.key]) == 0
      error_message = "${each.key} declares table actions on tables that are not this stack's (its role cannot be granted them): ${join(", ", local.unknown_tables[each.key])}."
    }
    precondition {
      condition     = length(local.event_statements[each.key]) == 0 || var.event_bus_arn != null
      error_message = "${each.key} declares events (${join(", ", keys(local.published_events[each.key]))}) but the module has no event_bus_arn: its role cannot be granted events:PutEvents on the stack's bus."
    }
    precondition {
      condition     = length(local.unknown_services[each.key]) == 0
      error_message = "${each.key} declares services that are not this stack's functions (its role cannot invoke them): ${join(", ", local.unknown_services[each.key])}."
    }
  }
}

resource "aws_sfn_state_machine" "this" {
  for_each = toset(var.workflow_names)

  name       = "${var.name_prefix}-${each.key}"
  type       = local.types[each.key]
  role_arn   = aws_iam_role.this[each.key].arn
  definition = local.definitions[each.key]

  lifecycle {
    precondition {
      condition = alltrue([
        for s, q in var.function_qualifiers : !strcontains(local.definitions[each.key], "\"${var.function_arns[s]}\"")
      ])
      error_message = "${each.key} still invokes an unqualified function that has an alias (provisioned concurrency): its tasks must name the alias ARN."
    }
    precondition {
      condition     = local.types[each.key] != "EXPRESS" || local.parking_budget_seconds[each.key] == null || coalesce(local.parking_budget_seconds[each.key], 0) <= var.express_parking_budget_seconds
      error_message = "${each.key} deploys as EXPRESS but its definition parks for up to ${coalesce(local.parking_budget_seconds[each.key], 0)} s, more than the ${var.express_parking_budget_seconds} s that leave the rest of the saga room in Express's 5 minutes: render it for EXPRESS (the deploy tasks do it from order_workflow_type)."
    }
  }

  # Express keeps no execution history: with level ALL and execution data, its log group is where every state of an
  # execution can be read (scripts/history.py reads it on AWS).
  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this[each.key].arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  # false omits the block (service default: off). MiniStack 1.5.33 does not store tracingConfiguration at all, so
  # even `enabled = false` shows a perpetual diff there (see modules/emulator_compat).
  dynamic "tracing_configuration" {
    for_each = var.tracing_enabled ? [true] : []
    content {
      enabled = true
    }
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this]
}
