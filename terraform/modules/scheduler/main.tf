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

# Confused-deputy guard (EventBridge Scheduler user guide): only schedules of this account's schedule group.
module "trust_policy" {
  source = "../trust_policy"

  service         = "scheduler.amazonaws.com"
  source_account  = local.account_id
  source_arn_test = "StringEquals"
  source_arns     = [local.schedule_group_arn]
}

resource "aws_iam_role" "this" {
  name               = "${var.name_prefix}-scheduler"
  description        = "EventBridge Scheduler puts the stale-order sweep event on the bus"
  assume_role_policy = module.trust_policy.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "PutSweepEventOnBus"
    effect    = "Allow"
    actions   = ["events:PutEvents"]
    resources = [var.event_bus_arn]

    # Exactly the event the schedule puts: the role cannot forge another source or detail-type.
    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = [var.event_source]
    }

    condition {
      test     = "StringEquals"
      variable = "events:detail-type"
      values   = [var.detail_type]
    }
  }

  statement {
    sid       = "SendFailedInvocationsToDlq"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "DecryptTargetInput"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name_prefix}-scheduler-least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
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
