variable "function_name" {
  description = "Function name, `<project>-<env>-<service>` (the workflow renderer derives the ARN from it). Also names the role, the log group and the DLQ."
  type        = string
}

variable "handler" {
  description = "Handler from the build manifest, e.g. `order.handler.lambda_handler`."
  type        = string
}

variable "zip_path" {
  description = "Absolute path of the deployment zip built by `invoke build`."
  type        = string
}

variable "source_code_hash" {
  description = "Base64-encoded SHA-256 of the zip, from the build manifest (triggers code updates)."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "python3.12"
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 30
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
  default     = 256
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions; null leaves the function on the unreserved account pool."
  type        = number
  default     = null
}

variable "environment" {
  description = "Environment variables of the function (see docs/architecture.md, \"Lambda environment variables\")."
  type        = map(string)
  default     = {}
}

variable "policy_statements" {
  description = "Least-privilege statements of the function's inline policy: exactly the actions the service needs on the ARNs it touches, with an optional IAM condition (a PutEvents statement names its events:source and events:detail-type). Logs, X-Ray and the DLQ statements are added by the module."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = []
}

variable "log_retention_days" {
  description = "Retention of the `/aws/lambda/<function_name>` log group in days."
  type        = number
  default     = 14
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the log group and the environment variables."
  type        = string
}

variable "tracing_mode" {
  description = "X-Ray tracing mode (Active or PassThrough)."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long failed asynchronous invocations stay in the dead-letter queue (max 14 days)."
  type        = number
  default     = 1209600
}

variable "tags" {
  description = "Tags added to every resource of the service (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

variable "provisioned_concurrency" {
  description = "Provisioned concurrent executions: execution environments kept initialised (no cold start), billed by the hour whether used or not (docs/operations.md). 0 (default) = none: no version is published, no alias, callers invoke the unqualified function. > 0 publishes a version on every change, points the alias `alias_name` at it and provisions that many environments there; callers must invoke the alias (output invoke_target_arn)."
  type        = number
  default     = 0

  validation {
    condition     = var.provisioned_concurrency >= 0 && var.provisioned_concurrency == floor(var.provisioned_concurrency)
    error_message = "provisioned_concurrency must be a whole number >= 0 (0 = off)."
  }

  validation {
    condition     = var.reserved_concurrency == null || var.provisioned_concurrency <= coalesce(var.reserved_concurrency, 0)
    error_message = "provisioned_concurrency cannot exceed the function's reserved_concurrency."
  }
}

variable "alias_name" {
  description = "Name of the alias that carries the provisioned concurrency (created only when provisioned_concurrency > 0)."
  type        = string
  default     = "live"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_-]{0,127}$", var.alias_name)) && !can(regex("^[0-9]+$", var.alias_name))
    error_message = "alias_name must start with a letter and hold letters, digits, - and _ (not a version number)."
  }
}
