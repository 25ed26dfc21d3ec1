output "bus_name" {
  description = "Name of the custom event bus."
  value       = aws_cloudwatch_event_bus.this.name
}

output "bus_arn" {
  description = "ARN of the custom event bus."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "archive_name" {
  description = "Name of the archive holding every event of the bus."
  value       = aws_cloudwatch_event_archive.this.name
}

output "archive_arn" {
  description = "ARN of the archive (StartReplay source)."
  value       = aws_cloudwatch_event_archive.this.arn
}

output "rule_arns" {
  description = "Rule ARNs keyed by rule key (routing and replication rules)."
  value       = local.rule_arns
}

output "rule_names" {
  description = "Routing rule names keyed by rule key."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.name }
}

output "target_arns" {
  description = "Target ARN of each routing rule, keyed by rule key."
  value       = { for k, t in aws_cloudwatch_event_target.this : k => t.arn }
}

output "dlq_urls" {
  description = "Dead-letter queue URL of each rule's target, keyed by rule key."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.url }
}

output "dlq_arns" {
  description = "Dead-letter queue ARN of each rule's target, keyed by rule key."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.arn }
}

output "dlq_names" {
  description = "Dead-letter queue name of each rule's target, keyed by rule key."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.name }
}

output "start_workflows_role_arn" {
  description = "Role EventBridge assumes to start the workflows."
  value       = one(aws_iam_role.start_workflows[*].arn)
}

output "policy_json" {
  description = "Inline policy documents (JSON) of the module's roles keyed by role purpose, for audits and tests."
  value = merge(
    { for p in aws_iam_role_policy.start_workflows : "start-workflows" => p.policy },
    { for p in aws_iam_role_policy.replication : "replication" => p.policy },
  )
}

output "policy_statements" {
  description = "The statements of the module's role policies as their policy documents hold them, keyed by role purpose, for audits and tests."
  value = merge(
    { for d in data.aws_iam_policy_document.start_workflows : "start-workflows" => d.statement },
    { for d in data.aws_iam_policy_document.replication : "replication" => d.statement },
  )
}

output "dlq_policy_statements" {
  description = "The statements of each DLQ's queue policy, keyed by rule key, for audits and tests."
  value       = { for k, d in data.aws_iam_policy_document.dlq : k => d.statement }
}

output "event_patterns" {
  description = "Event pattern (JSON) of each routing rule, keyed by rule key."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.event_pattern }
}

output "targets" {
  description = "Each routing rule's target as applied (ARN, retry policy, DLQ, role, input template), keyed by rule key, for audits and tests."
  value = {
    for k, t in aws_cloudwatch_event_target.this : k => {
      arn                          = t.arn
      role_arn                     = t.role_arn
      maximum_retry_attempts       = t.retry_policy[0].maximum_retry_attempts
      maximum_event_age_in_seconds = t.retry_policy[0].maximum_event_age_in_seconds
      dead_letter_arn              = t.dead_letter_config[0].arn
      input_template               = try(t.input_transformer[0].input_template, null)
    }
  }
}

output "trust_policy_json" {
  description = "Trust policies (JSON) of the module's roles keyed by role purpose, for audits and tests."
  value = merge(
    { for r in aws_iam_role.start_workflows : "start-workflows" => r.assume_role_policy },
    { for r in aws_iam_role.replication : "replication" => r.assume_role_policy },
  )
}

output "trust_policy_statements" {
  description = "The statements of the module's roles' trust policies keyed by role purpose, for audits and tests."
  value = merge(
    { for m in module.start_workflows_trust_policy : "start-workflows" => m.statements },
    { for m in module.replication_trust_policy : "replication" => m.statements },
  )
}

output "replication_event_patterns" {
  description = "Event pattern (JSON) of the replication rule (when enabled), keyed by rule key."
  value       = { for k, r in aws_cloudwatch_event_rule.replication : k => r.event_pattern }
}

output "lambda_permission_qualifiers" {
  description = "The alias each Lambda target's resource-policy grant is on (null: the unqualified function), keyed by rule key."
  value       = { for k, p in aws_lambda_permission.this : k => p.qualifier }
}
