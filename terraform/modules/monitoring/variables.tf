variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`: dashboard `<name_prefix>`, topic `<name_prefix>-alarms`."
  type        = string
}

variable "region" {
  description = "Region the dashboard widgets read metrics from."
  type        = string
}

variable "function_names" {
  description = "Lambda function names keyed by service."
  type        = map(string)
}

variable "state_machine_arns" {
  description = "State machine ARNs keyed by workflow name."
  type        = map(string)
}

variable "api_id" {
  description = "HTTP API id (ApiId dimension)."
  type        = string
}

variable "api_stage" {
  description = "HTTP API stage name (Stage dimension), `$default`."
  type        = string
  default     = "$default"
}

variable "dlq_names" {
  description = "Dead-letter queue names keyed by a stable key (e.g. `lambda-order`, `events-order-created`)."
  type        = map(string)
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the alarm topic."
  type        = string
}

variable "alarms_enabled" {
  description = "Create the metric alarms. Only the emulator_compat module turns this off (local emulator)."
  type        = bool
  default     = true
}

variable "alarm_email" {
  description = "Optional e-mail address subscribed to the alarm topic (null = no subscription)."
  type        = string
  default     = null
}

variable "alarm_period_seconds" {
  description = "Period of every alarm's metric in seconds."
  type        = number
  default     = 300
}

variable "lambda_errors_threshold" {
  description = "Lambda Errors (sum per period) at or above which a function's alarm fires."
  type        = number
  default     = 1
}

variable "api_5xx_threshold" {
  description = "API 5xx responses (sum per period) at or above which the API alarm fires."
  type        = number
  default     = 1
}

variable "tags" {
  description = "Tags added to the topic and the alarms (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}
