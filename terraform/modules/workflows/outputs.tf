output "state_machine_arns" {
  description = "State machine ARNs keyed by workflow name."
  value       = { for wf, sm in aws_sfn_state_machine.this : wf => sm.arn }
}

output "state_machine_names" {
  description = "State machine names keyed by workflow name."
  value       = { for wf, sm in aws_sfn_state_machine.this : wf => sm.name }
}

output "role_arns" {
  description = "Execution role ARNs keyed by workflow name."
  value       = { for wf, r in aws_iam_role.this : wf => r.arn }
}

output "log_group_names" {
  description = "Execution log groups keyed by workflow name."
  value       = { for wf, lg in aws_cloudwatch_log_group.this : wf => lg.name }
}

output "invoked_services" {
  description = "Services whose functions each workflow declares it invokes, keyed by workflow: exactly those its role may invoke."
  value       = local.invoked_services
}

output "published_events" {
  description = "The events each workflow's role may put on the bus, keyed by workflow, as source -> detail-types (published_events, detail-types sorted): exactly its events:PutEvents statements' conditions."
  value       = local.published_events
}

output "policy_json" {
  description = "Each state machine role's inline policy document (JSON) keyed by workflow name, for audits and tests."
  value       = { for wf, p in aws_iam_role_policy.this : wf => p.policy }
}

output "policy_statements" {
  description = "The statements of each state machine role's inline policy as its policy document holds them, keyed by workflow name, for audits and tests."
  value       = { for wf, d in data.aws_iam_policy_document.this : wf => d.statement }
}

output "log_retention_days" {
  description = "Retention in days of each state machine's log group, keyed by workflow name."
  value       = { for wf, lg in aws_cloudwatch_log_group.this : wf => lg.retention_in_days }
}

output "tracing_enabled" {
  description = "Whether each state machine has X-Ray tracing enabled, keyed by workflow name."
  value       = { for wf, sm in aws_sfn_state_machine.this : wf => length(sm.tracing_configuration) > 0 && try(sm.tracing_configuration[0].enabled, false) }
}

output "trust_policy_json" {
  description = "Each state machine role's trust policy (JSON) keyed by workflow name, for audits and tests."
  value       = { for wf, r in aws_iam_role.this : wf => r.assume_role_policy }
}

output "trust_policy_statements" {
  description = "The statements of each state machine role's trust policy keyed by workflow name, for audits and tests."
  value       = { for wf, m in module.trust_policy : wf => m.statements }
}

output "workflow_types" {
  description = "Step Functions type (STANDARD or EXPRESS) of each state machine, keyed by workflow name."
  value       = { for wf, sm in aws_sfn_state_machine.this : wf => sm.type }
}

output "parking_budget_seconds" {
  description = "The payment parking budget each definition was rendered with (null: the workflow does not park), keyed by workflow name."
  value       = local.parking_budget_seconds
}

output "definitions" {
  description = "Each state machine's definition as deployed (the rendered one, with the tasks of a function with provisioned concurrency naming its alias), keyed by workflow name."
  value       = local.definitions
}
