# Custom event bus, an archive of all its events (replayable), routing rules with retried targets and one SQS DLQ per
# target, the role EventBridge uses to start the workflows, and optional cross-region replication.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  sfn_rules    = { for k, r in var.rules : k => r if r.target_type == "state_machine" }
  lambda_rules = { for k, r in var.rules : k => r if r.target_type == "lambda" }

  # Only the sources the bus's own principals may put (var.replicated_sources): the replication role may put no
  # other, so an event of any other source (a test canary put by an administrator) is not forwarded at all rather
  # than refused into the DLQ.
  replication_rules = var.replication.enabled ? {
    replicate = {
      description   = "Replicate the trusted sources' events of the bus to ${var.replication.target_bus_arn}"
      event_pattern = jsonencode({ source = var.replicated_sources })
    }
  } : {}

  # Every rule (routing + replication) gets a DLQ.
  all_rule_keys = toset(concat(keys(var.rules), keys(local.replication_rules)))
}

resource "aws_cloudwatch_event_bus" "this" {
  name = local.bus_name
  tags = merge(var.tags, { Name = local.bus_name })
}

resource "aws_cloudwatch_event_archive" "this" {
  name             = "${var.name_prefix}-archive"
  description      = "Every event of ${aws_cloudwatch_event_bus.this.name}, replayable"
  event_source_arn = aws_cloudwatch_event_bus.this.arn
  retention_days   = var.archive_retention_days
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = var.rules

  name           = "${var.name_prefix}-${each.key}"
  description    = each.value.description
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern  = each.value.event_pattern
  tags           = var.tags
}

locals {
  rule_arns = merge(
    { for k, r in aws_cloudwatch_event_rule.this : k => r.arn },
    { for k, r in aws_cloudwatch_event_rule.replication : k => r.arn },
  )

  # ARNs built from names (documented format `arn:<partition>:events:<region>:<account>:rule/<bus>/<rule>`) so the
  # DLQs need not wait for the rules: queues and rules are created in parallel. check.rule_arns_match verifies them.
  arn_prefix = "arn:${data.aws_partition.current.partition}"
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id
  bus_name   = "${var.name_prefix}-bus"
  expected_rule_arns = {
    for k in local.all_rule_keys : k => "${local.arn_prefix}:events:${local.region}:${local.account_id}:rule/${local.bus_name}/${var.name_prefix}-${k}"
  }
}

check "rule_arns_match" {
  assert {
    condition     = alltrue([for k, arn in local.rule_arns : arn == local.expected_rule_arns[k]])
    error_message = "A rule ARN differs from the ARN built for its DLQ policy: update local.expected_rule_arns."
  }
}

# Each DLQ accepts events.amazonaws.com from its own rule only.
data "aws_iam_policy_document" "dlq" {
  for_each = local.all_rule_keys

  statement {
    sid       = "EventBridgeRuleSendsFailedEvents"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = ["${local.arn_prefix}:sqs:${local.region}:${local.account_id}:${var.name_prefix}-${each.key}-dlq"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.expected_rule_arns[each.key]]
    }
  }
}

# One DLQ per rule target. The queue policy is inline (not aws_sqs_queue_policy) so each queue is created and deleted
# in one step: the provider waits ~25 s for SQS attributes to settle after every queue or queue-policy change.
resource "aws_sqs_queue" "dlq" {
  for_each = local.all_rule_keys

  name                      = "${var.name_prefix}-${each.key}-dlq"
  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = true
  policy                    = data.aws_iam_policy_document.dlq[each.key].json
  tags                      = var.tags
}

# --- Role EventBridge assumes to start the workflows ----------------------------------------------------------------

# Confused-deputy guard (EventBridge user guide): only this account's rules that target a workflow.
module "start_workflows_trust_policy" {
  source = "../trust_policy"
  count  = length(local.sfn_rules) > 0 ? 1 : 0

  service        = "events.amazonaws.com"
  source_account = local.account_id
  source_arns    = [for k in sort(keys(local.sfn_rules)) : local.expected_rule_arns[k]]
}

resource "aws_iam_role" "start_workflows" {
  count = length(local.sfn_rules) > 0 ? 1 : 0

  name               = "${var.name_prefix}-events-start-workflows"
  description        = "EventBridge rules of ${var.name_prefix}-bus start the workflows"
  assume_role_policy = module.start_workflows_trust_policy[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "start_workflows" {
  count = length(local.sfn_rules) > 0 ? 1 : 0

  statement {
    sid       = "StartRoutedWorkflows"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = distinct([for k in keys(local.sfn_rules) : var.targets[k].arn])
  }
}

resource "aws_iam_role_policy" "start_workflows" {
  count = length(local.sfn_rules) > 0 ? 1 : 0

  name   = "${var.name_prefix}-events-start-workflows"
  role   = aws_iam_role.start_workflows[0].id
  policy = data.aws_iam_policy_document.start_workflows[0].json
}

# --- Targets ---------------------------------------------------------------------------------------------------------

resource "aws_cloudwatch_event_target" "this" {
  for_each = var.rules

  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = each.key
  arn            = var.targets[each.key].arn
  role_arn       = each.value.target_type == "state_machine" ? aws_iam_role.start_workflows[0].arn : null

  retry_policy {
    maximum_retry_attempts       = var.retry_maximum_attempts
    maximum_event_age_in_seconds = var.retry_maximum_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq[each.key].arn
  }

  dynamic "input_transformer" {
    for_each = each.value.input_transformer == null ? [] : [each.value.input_transformer]
    content {
      input_paths    = input_transformer.value.input_paths
      input_template = input_transformer.value.input_template
    }
  }

  depends_on = [aws_iam_role_policy.start_workflows]
}

resource "aws_lambda_permission" "this" {
  for_each = local.lambda_rules

  statement_id  = "AllowEventBridgeRule-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = var.targets[each.key].function_name
  qualifier     = var.targets[each.key].qualifier
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}

# --- Optional cross-region replication -------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "replication" {
  for_each = local.replication_rules

  name           = "${var.name_prefix}-${each.key}"
  description    = each.value.description
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern  = each.value.event_pattern
  tags           = var.tags
}

# Confused-deputy guard: only this account's replication rule.
module "replication_trust_policy" {
  source = "../trust_policy"
  count  = var.replication.enabled ? 1 : 0

  service        = "events.amazonaws.com"
  source_account = local.account_id
  source_arns    = [for k in keys(local.replication_rules) : local.expected_rule_arns[k]]
}

resource "aws_iam_role" "replication" {
  count = var.replication.enabled ? 1 : 0

  name               = "${var.name_prefix}-events-replication"
  description        = "EventBridge replicates ${var.name_prefix}-bus to a bus in a second region"
  assume_role_policy = module.replication_trust_policy[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "replication" {
  count = var.replication.enabled ? 1 : 0

  statement {
    sid       = "PutEventsOnReplicaBus"
    effect    = "Allow"
    actions   = ["events:PutEvents"]
    resources = [var.replication.target_bus_arn]

    # The replica gets only what this bus's trusted principals may put (the same list as the rule's pattern).
    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = var.replicated_sources
    }
  }
}

resource "aws_iam_role_policy" "replication" {
  count = var.replication.enabled ? 1 : 0

  name   = "${var.name_prefix}-events-replication"
  role   = aws_iam_role.replication[0].id
  policy = data.aws_iam_policy_document.replication[0].json
}

resource "aws_cloudwatch_event_target" "replication" {
  for_each = local.replication_rules

  rule           = aws_cloudwatch_event_rule.replication[each.key].name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = each.key
  arn            = var.replication.target_bus_arn
  role_arn       = aws_iam_role.replication[0].arn

  retry_policy {
    maximum_retry_attempts       = var.retry_maximum_attempts
    maximum_event_age_in_seconds = var.retry_maximum_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq[each.key].arn
  }

  depends_on = [aws_iam_role_policy.replication]
}
