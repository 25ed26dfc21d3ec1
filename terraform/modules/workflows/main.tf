# One STANDARD state machine per rendered definition, with its own log group (ALL + execution data), X-Ray tracing
# and a least-privilege role.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  # The state machine ARN built from its name (documented format), so the role's trust can name it before it exists.
  state_machine_arn_prefix = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:stateMachine:${var.name_prefix}-"

  definitions = {
    for wf in var.workflow_names : wf => file("${var.definitions_dir}/${wf}.asl.json")
  }

  # What each definition calls, read from the rendered text (so nested Parallel/Map branches and the inlined
  # finalize fragment count too): every task "Resource", and every "FunctionName" of a lambda:invoke task.
  lambda_arn      = "^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:([A-Za-z0-9_-]+)(:[A-Za-z0-9$_-]+)?$"
  lambda_invoke   = "^arn:aws[a-z-]*:states:::lambda:invoke$"
  task_resources  = { for wf, d in local.definitions : wf => distinct(flatten(regexall("\"Resource\"\\s*:\\s*\"([^\"]*)\"", d))) }
  function_values = { for wf, d in local.definitions : wf => distinct(flatten(regexall("\"FunctionName\"\\s*:\\s*\"([^\"]*)\"", d))) }
  dynamic_targets = { for wf, d in local.definitions : wf => length(regexall("\"FunctionName\\.\\$\"", d)) > 0 }

  # Functions invoked: lambda:invoke's FunctionName, or a task Resource that is itself a function ARN.
  invoke_targets = {
    for wf in var.workflow_names : wf => distinct(concat(
      local.function_values[wf],
      [for r in local.task_resources[wf] : r if can(regex("^arn:aws[a-z-]*:lambda:", r))],
    ))
  }
  malformed_targets = {
    for wf, targets in local.invoke_targets : wf => [for t in targets : t if !can(regex(local.lambda_arn, t))]
  }
  invoked_function_names = {
    for wf, targets in local.invoke_targets : wf => distinct([for t in targets : regex(local.lambda_arn, t)[0] if can(regex(local.lambda_arn, t))])
  }
  # Unqualified ARNs of the invoked functions (a qualifier `:<alias|version>` is covered by the `<arn>:*` grant).
  invoked_function_arns = {
    for wf, targets in local.invoke_targets : wf => distinct([for t in targets : join(":", slice(split(":", t), 0, 7)) if can(regex(local.lambda_arn, t))])
  }
  # Task integrations other than Lambda: the role grants none of them (no DynamoDB, no EventBridge, ...).
  foreign_integrations = {
    for wf, resources in local.task_resources : wf => [
      for r in resources : r if !can(regex(local.lambda_invoke, r)) && !can(regex("^arn:aws[a-z-]*:lambda:", r))
    ]
  }

  # The services whose function each workflow invokes: exactly what its role may invoke.
  invoked_services = {
    for wf, names in local.invoked_function_names : wf => sort([
      for service, name in var.function_names : service if contains(names, name)
    ])
  }
  unknown_functions = {
    for wf, names in local.invoked_function_names : wf => [for n in names : n if !contains(values(var.function_names), n)]
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

resource "aws_iam_role" "this" {
  for_each = toset(var.workflow_names)

  name        = "${var.name_prefix}-${each.key}-sfn"
  description = "Execution role of the ${var.name_prefix}-${each.key} state machine"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      # Confused-deputy guard (Step Functions developer guide, "Cross-service confused deputy prevention"): only
      # Step Functions acting for this account's state machine of this name (and its versions/aliases).
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        ArnLike      = { "aws:SourceArn" = ["${local.state_machine_arn_prefix}${each.key}", "${local.state_machine_arn_prefix}${each.key}:*"] }
      }
    }]
  })
  tags = var.tags
}

# The workflows call Lambda only (`arn:aws:states:::lambda:invoke`): every order write and every event goes through
# a service, so a role needs `lambda:InvokeFunction` on exactly the functions its definition names, and no DynamoDB
# or EventBridge access. No KMS either: the state machines have no encryption_configuration (no customer-managed key
# of their own), and CloudWatch Logs encrypts the log groups under the key policy's grant to the Logs service, not
# with the writer's permissions. The preconditions refuse a definition the role could not run (another integration, a
# function that is not one of this stack's, a function chosen at run time).
# Resource "*" appears only in the XRayTracing and LogDelivery statements: X-Ray and CloudWatch Logs vended-log
# delivery APIs support no resource-level permissions (AWS Step Functions developer guide, "IAM policies for
# logging"/"X-Ray"). terraform/tests/root.tftest.hcl fails on any other "*" resource.
resource "aws_iam_role_policy" "this" {
  for_each = toset(var.workflow_names)

  name = "${var.name_prefix}-${each.key}-sfn-least-privilege"
  role = aws_iam_role.this[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      length(local.invoked_services[each.key]) == 0 ? [] : [{
        Sid    = "InvokeOwnFunctions"
        Effect = "Allow"
        Action = ["lambda:InvokeFunction"]
        Resource = flatten([
          for service in local.invoked_services[each.key] : [var.function_arns[service], "${var.function_arns[service]}:*"]
        ])
      }],
      [
        {
          Sid    = "XRayTracing"
          Effect = "Allow"
          Action = [
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
          ]
          Resource = ["*"]
        },
        {
          Sid    = "LogDelivery"
          Effect = "Allow"
          Action = [
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
          ]
          Resource = ["*"]
        },
      ]
    )
  })

  lifecycle {
    precondition {
      condition     = length(local.foreign_integrations[each.key]) == 0
      error_message = "${each.key}: task integrations its role does not grant: ${join(", ", local.foreign_integrations[each.key])}. The workflows call Lambda only (arn:aws:states:::lambda:invoke); order writes and events belong in the services."
    }
    precondition {
      condition     = !local.dynamic_targets[each.key] && length(local.malformed_targets[each.key]) == 0
      error_message = "${each.key}: every invoked function must be a full Lambda function ARN written in the definition (no \"FunctionName.$\", no bare names), so its role can name it; found: ${join(", ", local.malformed_targets[each.key])}."
    }
    precondition {
      condition     = length(local.unknown_functions[each.key]) == 0
      error_message = "${each.key} invokes functions that are not this stack's (its role cannot invoke them): ${join(", ", local.unknown_functions[each.key])}."
    }
    precondition {
      condition     = length(setsubtract(local.invoked_function_arns[each.key], values(var.function_arns))) == 0
      error_message = "${each.key} invokes function ARNs (region/account) other than this stack's: ${join(", ", setsubtract(local.invoked_function_arns[each.key], values(var.function_arns)))}."
    }
  }
}

resource "aws_sfn_state_machine" "this" {
  for_each = toset(var.workflow_names)

  name       = "${var.name_prefix}-${each.key}"
  type       = "STANDARD"
  role_arn   = aws_iam_role.this[each.key].arn
  definition = local.definitions[each.key]

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
