variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`; the API is `<name_prefix>-api`."
  type        = string
}

variable "function_name" {
  description = "Name of the Lambda function behind every route (the order service)."
  type        = string
}

variable "function_arn" {
  description = "ARN of the Lambda function behind every route (AWS_PROXY integration, payload format 2.0): its alias ARN when the function has provisioned concurrency."
  type        = string
}

variable "function_qualifier" {
  description = "The alias the integration invokes (function_arn is then that alias's ARN), so the API Gateway grant is on the alias; null = the unqualified function."
  type        = string
  default     = null
}

variable "jwt_issuer" {
  description = "Issuer the JWT authorizer requires (the token's `iss`): the Cognito user pool's `https://cognito-idp.<region>.amazonaws.com/<pool id>`."
  type        = string

  validation {
    condition     = startswith(var.jwt_issuer, "https://")
    error_message = "jwt_issuer must be an https:// URL (the token's iss claim)."
  }
}

variable "jwt_audience" {
  description = "Audiences the JWT authorizer accepts (the token's `aud`, or `client_id` without `aud`): the API's Cognito app client id."
  type        = list(string)

  validation {
    condition     = length(var.jwt_audience) > 0
    error_message = "jwt_audience needs at least one app client id: an authorizer without an audience accepts any client of the issuer."
  }
}

variable "authorizer_payload_format_version" {
  description = "Leave null (AWS: a JWT authorizer has none). Set only by the emulator switch `jwt_authorizer_payload_format_version` (modules/emulator_compat)."
  type        = string
  default     = null
}

variable "route_keys" {
  description = "HTTP API route keys, all proxied to the function and all behind the JWT authorizer."
  type        = list(string)
  default = [
    "POST /orders",
    "GET /orders/{orderId}",
    "DELETE /orders/{orderId}",
    "GET /customers/{customerId}/orders",
  ]
}

variable "throttling_burst_limit" {
  description = "Default route throttling: burst limit (requests)."
  type        = number
  default     = 100
}

variable "throttling_rate_limit" {
  description = "Default route throttling: steady-state rate limit (requests per second)."
  type        = number
  default     = 50
}

variable "log_retention_days" {
  description = "Retention of the access log group in days."
  type        = number
  default     = 14
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the access log group."
  type        = string
}

variable "aws_endpoint_url" {
  description = "Local emulator endpoint (e.g. http://127.0.0.1:4566); when set, api_url is `<endpoint>/_aws/execute-api/<api id>`. null on AWS."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}
