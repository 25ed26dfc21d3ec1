variable "bucket_name" {
  description = "Bucket name (globally unique on AWS)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for default encryption (SSE-KMS with an S3 bucket key)."
  type        = string
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a non-empty bucket (local/dev only; false for prod)."
  type        = bool
  default     = false
}

variable "noncurrent_version_transition_days" {
  description = "Days after which noncurrent object versions move to STANDARD_IA (>= 30)."
  type        = number
  default     = 30
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions are deleted (must exceed the transition days)."
  type        = number
  default     = 90
}

variable "tags" {
  description = "Tags added to the bucket (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}
