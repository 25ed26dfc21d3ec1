# EventBridge Scheduler schedule that puts the "Stale Order Sweep Requested" event on the bus.

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
