output "user_pool_id" {
  description = "Id of the customers' user pool."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the customers' user pool."
  value       = aws_cognito_user_pool.this.arn
}

output "user_pool_client_id" {
  description = "Id of the API's app client: the `aud` of its ID tokens, the JWT authorizer's audience."
  value       = aws_cognito_user_pool_client.api.id
}

output "issuer" {
  description = "The `iss` claim of the pool's tokens, `https://cognito-idp.<region>.amazonaws.com/<pool id>` (the pool's endpoint attribute with the scheme)."
  value       = "https://${aws_cognito_user_pool.this.endpoint}"
}

output "admin_group_name" {
  description = "Name of the operators' group (claim `cognito:groups`)."
  value       = aws_cognito_user_group.admins.name
}

output "explicit_auth_flows" {
  description = "Sign-in flows the app client allows (for tests)."
  value       = aws_cognito_user_pool_client.api.explicit_auth_flows
}
