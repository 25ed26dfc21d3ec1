variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`; the user pool is `<name_prefix>-customers`, its app client `<name_prefix>-api`."
  type        = string
}

variable "admin_group_name" {
  description = "Cognito group whose members are operators (claim `cognito:groups`): they may read, list and cancel any customer's orders. The order service checks this exact name."
  type        = string
  default     = "admins"
}

variable "id_token_validity_minutes" {
  description = "Lifetime of an ID token (the API's bearer token) in minutes, 5-1440."
  type        = number
  default     = 60

  validation {
    condition     = var.id_token_validity_minutes >= 5 && var.id_token_validity_minutes <= 1440
    error_message = "id_token_validity_minutes must be between 5 and 1440 (Cognito's limits)."
  }
}

variable "access_token_validity_minutes" {
  description = "Lifetime of an access token in minutes, 5-1440 (the API does not accept access tokens; they only serve Cognito's own user APIs)."
  type        = number
  default     = 60

  validation {
    condition     = var.access_token_validity_minutes >= 5 && var.access_token_validity_minutes <= 1440
    error_message = "access_token_validity_minutes must be between 5 and 1440 (Cognito's limits)."
  }
}

variable "refresh_token_validity_days" {
  description = "Lifetime of a refresh token in days, 1-30: how long a client may renew its ID token without the password."
  type        = number
  default     = 7

  validation {
    condition     = var.refresh_token_validity_days >= 1 && var.refresh_token_validity_days <= 30
    error_message = "refresh_token_validity_days must be between 1 and 30."
  }
}

variable "password_minimum_length" {
  description = "Minimum password length (lower, upper case, digits and symbols are required as well)."
  type        = number
  default     = 12

  validation {
    condition     = var.password_minimum_length >= 8 && var.password_minimum_length <= 99
    error_message = "password_minimum_length must be between 8 and 99."
  }
}

variable "deletion_protection" {
  description = "Protect the user pool (every customer identity) against deletion; true in prod."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to the user pool (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}
