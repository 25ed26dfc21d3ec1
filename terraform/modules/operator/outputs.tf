output "role_arn" {
  description = "ARN of the operator role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the operator role."
  value       = aws_iam_role.this.name
}

output "event_sources" {
  description = "The sources only this role may put."
  value       = sort(keys(var.events))
}

output "policy_json" {
  description = "The operator role's inline policy document (JSON), for audits and tests."
  value       = aws_iam_role_policy.this.policy
}

output "policy_statements" {
  description = "The statements of the operator role's inline policy as its policy document holds them, for audits and tests."
  value       = data.aws_iam_policy_document.this.statement
}

output "trust_policy_json" {
  description = "The operator role's trust policy (JSON), for audits and tests."
  value       = aws_iam_role.this.assume_role_policy
}

output "trust_policy_statements" {
  description = "The statements of the operator role's trust policy (principals, conditions), for audits and tests."
  value       = data.aws_iam_policy_document.trust.statement
}
