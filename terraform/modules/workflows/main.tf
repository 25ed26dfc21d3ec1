# One STANDARD state machine per rendered definition, with its own log group (ALL + execution data), X-Ray tracing
# and a least-privilege role.

locals {
  definitions = {
    for wf in var.workflow_names : wf => file("${var.definitions_dir}/${wf}.asl.json")
  }

  # The services whose function ARN appears in the workflow's definition (placeholders ${<Service>FunctionArn}).
  invoked_services = {
    for wf, definition in local.definitions : wf => sort([
      for service, name in var.function_names : service
      if can(regex(":function:${name}([\":]|$)", definition))
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
    }]
  })
  tags = var.tags
}

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
          Sid      = "UpdateOrderStatus"
          Effect   = "Allow"
          Action   = ["dynamodb:UpdateItem", "dynamodb:GetItem"]
          Resource = [var.orders_table_arn]
        },
        {
          Sid      = "UseTableKey"
          Effect   = "Allow"
          Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
          Resource = [var.kms_key_arn]
        },
        {
          Sid      = "PutEventsOnBus"
          Effect   = "Allow"
          Action   = ["events:PutEvents"]
          Resource = [var.event_bus_arn]
        },
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
