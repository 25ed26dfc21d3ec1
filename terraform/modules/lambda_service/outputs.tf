output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified function ARN."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "Invoke ARN for API Gateway integrations: the alias's when provisioned concurrency is on, else the function's."
  value       = local.provisioned ? aws_lambda_alias.live[0].invoke_arn : aws_lambda_function.this.invoke_arn
}

output "invoke_target_arn" {
  description = "The ARN every caller invokes (workflow tasks, API integration, DLQ redrive): the alias ARN when provisioned concurrency is on, else the unqualified function ARN."
  value       = local.provisioned ? aws_lambda_alias.live[0].arn : aws_lambda_function.this.arn
}

output "qualifier" {
  description = "The alias callers invoke when provisioned concurrency is on (qualifier of their invocations and of the resource-policy grants), else null."
  value       = local.provisioned ? aws_lambda_alias.live[0].name : null
}

output "provisioned_concurrency" {
  description = "Provisioned concurrent executions on the alias (0: none, no alias)."
  value       = local.provisioned ? aws_lambda_provisioned_concurrency_config.live[0].provisioned_concurrent_executions : 0
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Execution role name."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue for failed asynchronous invocations."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "policy_json" {
  description = "The function role's inline policy document (JSON), for audits and tests."
  value       = aws_iam_role_policy.this.policy
}

output "policy_statements" {
  description = "The statements of the function role's inline policy as its policy document holds them (sid, actions, resources, conditions), for audits and tests."
  value       = data.aws_iam_policy_document.this.statement
}

output "tracing_mode" {
  description = "X-Ray tracing mode of the function."
  value       = aws_lambda_function.this.tracing_config[0].mode
}

output "dead_letter_target_arn" {
  description = "Dead-letter target configured on the function (the module's DLQ)."
  value       = aws_lambda_function.this.dead_letter_config[0].target_arn
}

output "log_retention_days" {
  description = "Retention of the function's log group in days."
  value       = aws_cloudwatch_log_group.this.retention_in_days
}

output "environment" {
  description = "The function's environment variables, for audits and tests."
  value       = try(aws_lambda_function.this.environment[0].variables, {})
}

output "trust_policy_json" {
  description = "The function role's trust policy (JSON), for audits and tests."
  value       = aws_iam_role.this.assume_role_policy
}

output "trust_policy_statements" {
  description = "The statements of the function role's trust policy (principals, conditions), for audits and tests."
  value       = module.trust_policy.statements
}

output "published" {
  description = "Whether the function publishes versions (only with provisioned concurrency)."
  value       = aws_lambda_function.this.publish
}
