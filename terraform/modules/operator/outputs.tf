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

output "trust_policy_json" {
  description = "The operator role's trust policy (JSON), for audits and tests."
  value       = aws_iam_role.this.assume_role_policy
}
