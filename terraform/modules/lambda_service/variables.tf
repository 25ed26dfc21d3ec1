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
