variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`; each state machine is named `<name_prefix>-<workflow>`."
  type        = string
}

variable "workflow_names" {
  description = "Workflows to deploy; each needs `<definitions_dir>/<name>.asl.json`."
  type        = list(string)
}

variable "definitions_dir" {
  description = "Absolute directory holding the rendered Amazon States Language definitions (`invoke render` output)."
  type        = string
}

variable "function_names" {
  description = "Lambda function names keyed by service. A workflow's role may invoke exactly the functions its definition invokes (lambda:invoke FunctionName or a function ARN as task Resource); a definition invoking any other function is refused."
  type        = map(string)
}

variable "function_arns" {
  description = "Lambda function ARNs keyed by service (same keys as function_names)."
  type        = map(string)
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the stack (encrypts the state machines' log groups)."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the `/aws/vendedlogs/states/<name>` log groups in days."
  type        = number
  default     = 14
}

variable "tracing_enabled" {
  description = "X-Ray tracing on the state machines (false omits the tracing_configuration block). Only the emulator_compat module turns it off (local emulator)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}
