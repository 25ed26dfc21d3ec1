variable "name_prefix" {
  description = "Resource name prefix, `<project>-<env>`; each state machine is named `<name_prefix>-<workflow>`."
  type        = string
}

variable "workflow_names" {
  description = "Workflows to deploy; each needs `<definitions_dir>/<name>.asl.json`."
  type        = list(string)
}

variable "definitions_dir" {
  description = "Absolute directory holding the rendered Amazon States Language definitions (`invoke render` output)."
  type        = string
}

variable "invoked_services" {
  description = "The services whose Lambda function each workflow invokes, keyed by workflow, as workflow/integrations.json declares them (scripts/render.py refuses a definition that invokes anything else). A workflow's role may invoke exactly these functions (and their versions/aliases); a service that is not a key of function_arns is refused."
  type        = map(list(string))
}

variable "function_arns" {
  description = "Lambda function ARNs keyed by service: the stack's functions."
  type        = map(string)
}

variable "table_actions" {
  description = "The DynamoDB integration actions (IAM action names, e.g. DeleteItem) each workflow's tasks do on each table, keyed by workflow then table, as workflow/integrations.json declares them under `tables` (scripts/render.py refuses a definition that does anything else). A workflow's role may do exactly these actions on exactly these tables; a table that is not a key of table_arns is refused."
  type        = map(map(list(string)))
  default     = {}
}

variable "table_arns" {
  description = "DynamoDB table ARNs keyed by table (services/shared/schemas/tables.json): the stack's tables."
  type        = map(string)
  default     = {}
}

variable "published_events" {
  description = "The events each workflow's events:putEvents tasks put, keyed by workflow then event source, as that source's detail-types: workflow/integrations.json's `events` (event contract names) turned into sources and detail-types by the root from services/shared/schemas/events (scripts/render.py refuses a definition that puts anything else, or on another bus). A workflow with events gets events:PutEvents on event_bus_arn, one statement per source conditioned on events:source (that source) and events:detail-type (exactly its detail-types); a workflow without gets no PutEvents."
  type        = map(map(list(string)))
  default     = {}
  nullable    = false

  validation {
    condition = alltrue(flatten([
      for wf, sources in var.published_events : [
        for source, detail_types in sources :
        length(detail_types) > 0 && length(trimspace(source)) > 0 && !strcontains(source, "*") &&
        alltrue([for t in detail_types : length(trimspace(t)) > 0 && !strcontains(t, "*")])
      ]
    ]))
    error_message = "published_events: every source names at least one detail-type, and no source or detail-type is empty or holds a wildcard (*): a PutEvents grant names exactly what it allows."
  }
}

variable "event_bus_arn" {
  description = "ARN of the stack's event bus: the one resource of a workflow role's events:PutEvents. null (default): no workflow may put events (a workflow with published_events is refused)."
  type        = string
  default     = null
}

variable "function_qualifiers" {
  description = "The alias each workflow task must invoke, keyed by service, for the functions with provisioned concurrency (one alias name for all): every task naming such a function's ARN is rewritten to `<arn>:<alias>`. {} (default) leaves the rendered definitions unchanged."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(distinct(values(var.function_qualifiers))) <= 1
    error_message = "function_qualifiers must name one alias for every service."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the stack (encrypts the state machines' log groups and the tables; a role with table actions may decrypt with it through DynamoDB only)."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the `/aws/vendedlogs/states/<name>` log groups in days."
  type        = number
  default     = 14
}

variable "workflow_types" {
  description = "Step Functions type per workflow name (STANDARD or EXPRESS); a workflow not named here is STANDARD. An EXPRESS workflow must be rendered for it: a payment parking budget (its `WithinParkingBudget` Choice) of at most express_parking_budget_seconds."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for t in values(var.workflow_types) : contains(["STANDARD", "EXPRESS"], t)])
    error_message = "Each workflow type must be \"STANDARD\" or \"EXPRESS\"."
  }
}

variable "express_parking_budget_seconds" {
  description = "The longest payment parking an EXPRESS workflow's definition may have been rendered with: what Express's 5-minute limit leaves after the rest of the saga (scripts/workflow_policies.py, PAYMENT_PARKING_BUDGET_SECONDS_BY_TYPE[\"EXPRESS\"]; the root passes it on). A longer one is refused."
  type        = number
  nullable    = false
}

variable "tracing_enabled" {
  description = "X-Ray tracing on the state machines (false omits the tracing_configuration block). Only the emulator_compat module turns it off (local emulator)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}
