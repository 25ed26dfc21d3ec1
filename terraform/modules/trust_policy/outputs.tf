output "json" {
  description = "The trust policy (JSON), for `assume_role_policy` of the role."
  value       = data.aws_iam_policy_document.this.json
}

output "statements" {
  description = "The trust policy's statements as the policy document holds them (principals, conditions), for audits and tests."
  value       = data.aws_iam_policy_document.this.statement
}
