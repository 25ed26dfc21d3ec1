# EventBridge Scheduler schedule that puts the "Stale Order Sweep Requested" event on the bus.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  # The schedule's group, named in the role's trust (Scheduler's aws:SourceArn is the schedule group's ARN).
  schedule_group     = "default"
  schedule_group_arn = "arn:${data.aws_partition.current.partition}:scheduler:${data.aws_region.current.name}:${local.account_id}:schedule-group/${local.schedule_group}"
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name_prefix}-stale-order-sweep-schedule-dlq"
  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_iam_role" "this" {
  name        = "${var.name_prefix}-scheduler"
  description = "EventBridge Scheduler puts the stale-order sweep event on the bus"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      # Confused-deputy guard (EventBridge Scheduler user guide): only schedules of this account's schedule group.
      Condition = {
        StringEquals = {
          "aws:SourceAccount" = local.account_id
          "aws:SourceArn"     = local.schedule_group_arn
        }
      }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name = "${var.name_prefix}-scheduler-least-privilege"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "PutSweepEventOnBus"
        Effect   = "Allow"
        Action   = ["events:PutEvents"]
        Resource = [var.event_bus_arn]
        # Exactly the event the schedule puts: the role cannot forge another source or detail-type.
        Condition = { StringEquals = { "events:source" = [var.event_source], "events:detail-type" = [var.detail_type] } }
      },
      {
        Sid      = "SendFailedInvocationsToDlq"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [aws_sqs_queue.dlq.arn]
      },
      {
        Sid      = "DecryptTargetInput"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
      },
    ]
  })
}

resource "aws_scheduler_schedule" "sweep" {
  name                = "${var.name_prefix}-stale-order-sweep"
  group_name          = local.schedule_group
  description         = "Puts \"${var.detail_type}\" on the bus"
  schedule_expression = var.schedule_expression
  state               = var.enabled ? "ENABLED" : "DISABLED"
  kms_key_arn         = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.event_bus_arn
    role_arn = aws_iam_role.this.arn
    input    = var.input

    eventbridge_parameters {
      source      = var.event_source
      detail_type = var.detail_type
    }

    retry_policy {
      maximum_retry_attempts = var.retry_maximum_attempts
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }

  depends_on = [aws_iam_role_policy.this]
}
