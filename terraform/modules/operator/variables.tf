variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`; the role is `<name_prefix>-operator`."
  type        = string
}

variable "event_bus_arn" {
  description = "ARN of the bus the operator events go to."
  type        = string
}

variable "events" {
  description = "The operator-only events: source -> detail-types (terraform/service_permissions.json, other_publishers.operator)."
  type        = map(list(string))

  validation {
    condition     = length(var.events) > 0 && alltrue([for source, types in var.events : length(types) > 0])
    error_message = "The operator role needs at least one source, each with at least one detail-type."
  }
}

variable "principal_arns" {
  description = "Principals of this account that may assume the role; empty = the account root (IAM policies decide)."
  type        = list(string)
  default     = []
}

variable "principal_tag" {
  description = "Tag the caller must carry (aws:PrincipalTag/<key> = <value>); null = no tag condition."
  type = object({
    key   = string
    value = string
  })
  default = null
}

variable "tags" {
  description = "Tags added to the role (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}
