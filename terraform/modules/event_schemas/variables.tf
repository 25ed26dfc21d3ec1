variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`; the registry is `<name_prefix>-events`."
  type        = string
}

variable "schemas" {
  description = "The event contracts: name -> JSON Schema draft 4 document (services/shared/schemas/events/<name>.json), each with x-amazon-events-source, x-amazon-events-detail-type and x-orderflow-version."
  type        = map(string)

  validation {
    condition = length(var.schemas) > 0 && alltrue([
      for name, content in var.schemas :
      can(jsondecode(content)["x-amazon-events-source"]) && can(jsondecode(content)["x-amazon-events-detail-type"]) &&
      can(jsondecode(content)["x-orderflow-version"]) && try(jsondecode(content).title, null) == name
    ])
    error_message = "Each contract is a JSON document whose title is its name and which names its x-amazon-events-source, x-amazon-events-detail-type and x-orderflow-version."
  }
}

variable "enabled" {
  description = "Create the registry and its schemas (false only where the cloud has no EventBridge Schemas API: the local emulator, see modules/emulator_compat)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the registry and its schemas."
  type        = map(string)
  default     = {}
}
