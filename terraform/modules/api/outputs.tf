output "api_id" {
  description = "HTTP API id."
  value       = aws_apigatewayv2_api.this.id
}

output "api_url" {
  description = "Base URL of the API without a trailing slash: `<aws_endpoint_url>/_aws/execute-api/<api id>` on the local emulator, the $default stage invoke URL on AWS."
  value = (
    var.aws_endpoint_url != null
    ? "${trimsuffix(var.aws_endpoint_url, "/")}/_aws/execute-api/${aws_apigatewayv2_api.this.id}"
    : trimsuffix(aws_apigatewayv2_stage.default.invoke_url, "/")
  )
}

output "stage_name" {
  description = "Stage name (`$default`), the Stage dimension of the API metrics."
  value       = aws_apigatewayv2_stage.default.name
}

output "execution_arn" {
  description = "Execution ARN of the API."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "access_log_group_name" {
  description = "Access log group of the $default stage."
  value       = aws_cloudwatch_log_group.access.name
}
