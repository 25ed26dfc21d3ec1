variable "service" {
  description = "The service principal that assumes the role, e.g. `lambda.amazonaws.com`; the only principal trusted."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+\\.amazonaws\\.com$", var.service))
    error_message = "service must be a service principal such as lambda.amazonaws.com."
  }
}

variable "source_account" {
  description = "The account the service must act for (condition aws:SourceAccount): this stack's account."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.source_account))
    error_message = "source_account must be a 12-digit AWS account id."
  }
}

variable "source_arns" {
  description = "The resources the service must act for (condition aws:SourceArn), e.g. the state machine or the rules; empty = no aws:SourceArn condition, for services that document none (Lambda execution roles)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.source_arns : startswith(arn, "arn:") && arn != "arn:*"])
    error_message = "source_arns must be ARNs (a trailing `:*` for versions/aliases is allowed with ArnLike)."
  }
}

variable "source_arn_test" {
  description = "The condition operator of aws:SourceArn: ArnEquals for exact ARNs, ArnLike when an ARN ends in a wildcard (`:*`), StringEquals where the service's guide shows it."
  type        = string
  default     = "ArnEquals"

  validation {
    condition     = contains(["ArnEquals", "ArnLike", "StringEquals"], var.source_arn_test)
    error_message = "source_arn_test must be ArnEquals, ArnLike or StringEquals."
  }
}

variable "sid" {
  description = "Optional statement id of the trust statement."
  type        = string
  default     = null
}
