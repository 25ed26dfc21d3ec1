variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`; each table is named `<name_prefix>-<table>`."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key used for server-side encryption of every table."
  type        = string
}

variable "deletion_protection" {
  description = "Enable DynamoDB deletion protection on every table (true for prod)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every table (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}
