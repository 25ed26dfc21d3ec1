# One STANDARD state machine per rendered definition, with its own log group (ALL + execution data), X-Ray tracing
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

  # The services each workflow declares it invokes (workflow/integrations.json; scripts/render.py refuses a
  # definition that invokes anything else): exactly what its role may invoke.
  invoked_services = { for wf in var.workflow_names : wf => sort(lookup(var.invoked_services, wf, [])) }
  unknown_services = {
    for wf, services in local.invoked_services : wf => [for s in services : s if !contains(keys(var.function_arns), s)]
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

# The workflows call Lambda only (`arn:aws:states:::lambda:invoke`): every order write and every event goes through
# a service, so a role needs `lambda:InvokeFunction` on exactly the functions its workflow declares, and no DynamoDB
# or EventBridge access. No KMS either: the state machines have no encryption_configuration (no customer-managed key
# of their own), and CloudWatch Logs encrypts the log groups under the key policy's grant to the Logs service, not
# with the writer's permissions.
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
      condition     = length(local.unknown_services[each.key]) == 0
      error_message = "${each.key} declares services that are not this stack's functions (its role cannot invoke them): ${join(", ", local.unknown_services[each.key])}."
    }
  }
}

resource "aws_sfn_state_machine" "this" {
  for_each = toset(var.workflow_names)

  name       = "${var.name_prefix}-${each.key}"
  type       = "STANDARD"
  role_arn   = aws_iam_role.this[each.key].arn
  definition = local.definitions[each.key]

  lifecycle {
    precondition {
      condition = alltrue([
        for s, q in var.function_qualifiers : !strcontains(local.definitions[each.key], "\"${var.function_arns[s]}\"")
      ])
      error_message = "${each.key} still invokes an unqualified function that has an alias (provisioned concurrency): its tasks must name the alias ARN."
    }
  }

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
