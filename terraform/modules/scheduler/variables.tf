variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`; the schedule is `<name_prefix>-stale-order-sweep`."
  type        = string
}

variable "schedule_expression" {
  description = "When the sweep runs, e.g. `rate(5 minutes)`."
  type        = string
  default     = "rate(5 minutes)"
}

variable "enabled" {
  description = "Schedule state: true = ENABLED, false = DISABLED."
  type        = bool
  default     = true
}

variable "event_bus_arn" {
  description = "ARN of the bus the schedule puts the sweep event on."
  type        = string
}

variable "event_source" {
  description = "Source of the event put on the bus (terraform/service_permissions.json, other_publishers.scheduler); also the only source the role may put."
  type        = string
}

variable "detail_type" {
  description = "Detail-type of the event put on the bus; also the only detail-type the role may put."
  type        = string
}

variable "input" {
  description = "Event detail (JSON)."
  type        = string
  default     = "{}"
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key that encrypts the schedule's target input."
  type        = string
}

variable "retry_maximum_attempts" {
  description = "Scheduler retry attempts before the invocation goes to the DLQ (0-185)."
  type        = number
  default     = 5
}

variable "dlq_message_retention_seconds" {
  description = "Retention of the schedule's dead-letter queue in seconds."
  type        = number
  default     = 1209600
}

variable "tags" {
  description = "Tags added to the role and the DLQ (schedules take no tags)."
  type        = map(string)
  default     = {}
}
