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

output "authorizer_id" {
  description = "Id of the JWT authorizer every route uses."
  value       = aws_apigatewayv2_authorizer.jwt.id
}

output "authorizer" {
  description = "The JWT authorizer's settings (type, identity sources, issuer, audience), for tests and docs."
  value = {
    type             = aws_apigatewayv2_authorizer.jwt.authorizer_type
    identity_sources = aws_apigatewayv2_authorizer.jwt.identity_sources
    issuer           = one(aws_apigatewayv2_authorizer.jwt.jwt_configuration).issuer
    audience         = one(aws_apigatewayv2_authorizer.jwt.jwt_configuration).audience
    # null on AWS; "2.0" only under the emulator switch
    payload_format_version = aws_apigatewayv2_authorizer.jwt.authorizer_payload_format_version
  }
}

output "route_authorization" {
  description = "Route key -> {authorization_type, authorizer_id}: how each route is protected."
  value = {
    for key, route in aws_apigatewayv2_route.this : key => {
      authorization_type = route.authorization_type
      authorizer_id      = route.authorizer_id
    }
  }
}

output "lambda_permission" {
  description = "The function's resource-policy grant to API Gateway (principal and source ARN), for tests."
  value = {
    principal  = aws_lambda_permission.api.principal
    source_arn = aws_lambda_permission.api.source_arn
    action     = aws_lambda_permission.api.action
    qualifier  = aws_lambda_permission.api.qualifier
  }
}

output "integration_uri" {
  description = "What every route invokes: the function's ARN, or its alias ARN when it has provisioned concurrency."
  value       = aws_apigatewayv2_integration.function.integration_uri
}
