variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`: the bus is `<name_prefix>-bus`, each rule `<name_prefix>-<rule key>`."
  type        = string
}

variable "archive_retention_days" {
  description = "Days the archive keeps every event of the bus for replay (0 = indefinitely)."
  type        = number
  default     = 30
}

variable "rules" {
  description = <<-EOT
    Routing rules keyed by a short rule key; all values are static (known before any resource exists), so rules and
    their DLQs are created right away, in parallel with the targets they will point to. Each rule has one target
    (see var.targets) with a retry policy and its own SQS dead-letter queue. target_type "state_machine" targets are
    started through the module's EventBridge role (states:StartExecution on those ARNs only); "lambda" targets get
    an aws_lambda_permission scoped to the rule ARN. input_transformer optionally rewrites the event.
  EOT
  type = map(object({
    description   = string
    event_pattern = string
    target_type   = string
    input_transformer = optional(object({
      input_paths    = map(string)
      input_template = string
    }))
  }))

  validation {
    condition     = alltrue([for r in values(var.rules) : contains(["state_machine", "lambda"], r.target_type)])
    error_message = "Each rule's target_type must be \"state_machine\" or \"lambda\"."
  }
}

variable "targets" {
  description = "Target of each rule, keyed like var.rules: arn (state machine or Lambda function ARN, or the function's alias ARN) and, for Lambda targets, function_name and the alias (qualifier) the arn names, if any."
  type = map(object({
    arn           = string
    function_name = optional(string)
    qualifier     = optional(string)
  }))

  validation {
    condition     = toset(keys(var.targets)) == toset(keys(var.rules))
    error_message = "var.targets must have exactly one entry per rule key of var.rules."
  }

  validation {
    condition     = alltrue([for k, r in var.rules : r.target_type != "lambda" || try(var.targets[k].function_name != null, false)])
    error_message = "A rule with target_type \"lambda\" needs targets[<key>].function_name."
  }
}

variable "retry_maximum_attempts" {
  description = "EventBridge retry attempts per target before the event goes to the rule's DLQ (0-185)."
  type        = number
  default     = 8
}

variable "retry_maximum_event_age_seconds" {
  description = "Maximum age of an event EventBridge keeps retrying, in seconds (60-86400)."
  type        = number
  default     = 3600
}

variable "dlq_message_retention_seconds" {
  description = "Retention of the rules' dead-letter queues in seconds (max 14 days)."
  type        = number
  default     = 1209600
}

variable "replication" {
  description = "Optional cross-region replication: every event of the bus is also put on target_bus_arn (a bus in a second region) through a dedicated role. Off by default."
  type = object({
    enabled        = bool
    target_bus_arn = optional(string)
  })
  default = { enabled = false }

  validation {
    condition     = !var.replication.enabled || try(length(var.replication.target_bus_arn) > 0, false)
    error_message = "replication.target_bus_arn is required when replication.enabled is true."
  }
}

variable "replicated_sources" {
  description = "Event sources the replication forwards and its role may put on the replica bus: every source a principal of the stack may put (terraform/service_permissions.json). Required when replication is enabled."
  type        = list(string)
  default     = []

  validation {
    condition     = !var.replication.enabled || length(var.replicated_sources) > 0
    error_message = "replicated_sources must name the bus's trusted sources when replication is enabled."
  }
}

variable "tags" {
  description = "Tags added to every resource (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}
