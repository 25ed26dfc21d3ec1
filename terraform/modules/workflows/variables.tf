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

variable "invoked_services" {
  description = "The services whose Lambda function each workflow invokes, keyed by workflow, as workflow/integrations.json declares them (scripts/render.py refuses a definition that invokes anything else). A workflow's role may invoke exactly these functions (and their versions/aliases); a service that is not a key of function_arns is refused."
  type        = map(list(string))
}

variable "function_arns" {
  description = "Lambda function ARNs keyed by service: the stack's functions."
  type        = map(string)
}

variable "function_qualifiers" {
  description = "The alias each workflow task must invoke, keyed by service, for the functions with provisioned concurrency (one alias name for all): every task naming such a function's ARN is rewritten to `<arn>:<alias>`. {} (default) leaves the rendered definitions unchanged."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(distinct(values(var.function_qualifiers))) <= 1
    error_message = "function_qualifiers must name one alias for every service."
  }
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
