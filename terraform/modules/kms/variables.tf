variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`; the key alias is `alias/<name_prefix>`."
  type        = string
}

variable "region" {
  description = "AWS region of the key; used to scope the CloudWatch Logs service principal and log-group ARNs in the key policy."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Waiting period (7-30 days) before a scheduled key deletion takes effect."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to the key (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}
