output "schedule_name" {
  description = "Name of the sweep schedule."
  value       = aws_scheduler_schedule.sweep.name
}

output "schedule_arn" {
  description = "ARN of the sweep schedule."
  value       = aws_scheduler_schedule.sweep.arn
}

output "role_arn" {
  description = "Role the scheduler assumes."
  value       = aws_iam_role.this.arn
}

output "dlq_url" {
  description = "URL of the schedule's dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the schedule's dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the schedule's dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "policy_json" {
  description = "The scheduler role's inline policy document (JSON), for audits and tests."
  value       = aws_iam_role_policy.this.policy
}

output "policy_statements" {
  description = "The statements of the scheduler role's inline policy as its policy document holds them, for audits and tests."
  value       = data.aws_iam_policy_document.this.statement
}

output "target" {
  description = "The sweep schedule's target as applied (bus, event source and detail-type, retries, DLQ), for audits and tests."
  value = {
    arn                    = aws_scheduler_schedule.sweep.target[0].arn
    source                 = aws_scheduler_schedule.sweep.target[0].eventbridge_parameters[0].source
    detail_type            = aws_scheduler_schedule.sweep.target[0].eventbridge_parameters[0].detail_type
    maximum_retry_attempts = aws_scheduler_schedule.sweep.target[0].retry_policy[0].maximum_retry_attempts
    dead_letter_arn        = aws_scheduler_schedule.sweep.target[0].dead_letter_config[0].arn
  }
}

output "trust_policy_json" {
  description = "The scheduler role's trust policy (JSON), for audits and tests."
  value       = aws_iam_role.this.assume_role_policy
}

output "trust_policy_statements" {
  description = "The statements of the scheduler role's trust policy (principals, conditions), for audits and tests."
  value       = module.trust_policy.statements
}

output "schedule_group" {
  description = "Schedule group of the sweep (named in the role's trust as aws:SourceArn)."
  value       = aws_scheduler_schedule.sweep.group_name
}
