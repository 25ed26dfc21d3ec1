# --- Given by the deploy script (build/<env>/inputs.tfvars.json) -----------------------------------------------------

variable "build_manifest_path" {
  description = "Absolute path of build/manifest.json (`invoke build`): {\"services\": {<name>: {zip, source_code_hash, handler}}}; zip paths are relative to repo_root."
  type        = string
}

variable "repo_root" {
  description = "Absolute path of the repository root; the manifest's zip paths are relative to it."
  type        = string
}

variable "workflow_definitions_dir" {
  description = "Absolute directory holding the rendered order-processing, payment-processing and inventory-management `.asl.json` (`invoke render --env <env>`)."
  type        = string
}

variable "aws_endpoint_url" {
  description = "Local emulator endpoint, e.g. http://127.0.0.1:4566; null deploys to AWS with the normal credential chain."
  type        = string
  default     = null
}

# --- Given by terraform/envs/<env>.tfvars ------------------------------------------------------------------------------

variable "project" {
  description = "Project name, first part of every resource name (`<project>-<env>-<thing>`)."
  type        = string
  default     = "orderflow"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "project must be lower-case letters, digits and dashes (2-21 characters)."
  }
}

variable "env" {
  description = "Environment name (local, dev, prod, ...), second part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.env))
    error_message = "env must be lower-case letters and digits (2-10 characters)."
  }
}

variable "region" {
  description = "AWS region of the stack."
  type        = string
}

variable "emulator_compat" {
  description = "Work around the known gaps of the local emulator (MiniStack 1.5.33); see modules/emulator_compat. true only in envs/local.tfvars."
  type        = bool
  default     = false
}

variable "log_level" {
  description = "LOG_LEVEL of every Lambda function."
  type        = string
  default     = "INFO"
}

variable "log_retention_days" {
  description = "Retention in days of the Lambda and API access log groups."
  type        = number
  default     = 14
}

variable "order_workflow_type" {
  description = "Step Functions type of the order-processing state machine: STANDARD (exactly-once, execution history, up to a year, billed per state transition) or EXPRESS (at-least-once, at most 5 minutes, no history API: its execution data goes to its log group; billed per request and duration). The other workflows stay STANDARD. The deploy tasks render the order workflow for this type (its payment parking budget fits Express's 5 minutes) and hand the same value over (`invoke deploy --order-workflow-type`, docs/architecture.md)."
  type        = string
  default     = "STANDARD"
  nullable    = false

  validation {
    condition     = contains(["STANDARD", "EXPRESS"], var.order_workflow_type)
    error_message = "order_workflow_type must be \"STANDARD\" or \"EXPRESS\" (upper case)."
  }
}

variable "express_parking_budget_seconds" {
  description = "The longest payment parking the order workflow may have been rendered with to deploy as EXPRESS (a longer one is refused). The deploy tasks pass scripts/workflow_policies.py's EXPRESS budget (PAYMENT_PARKING_BUDGET_SECONDS_BY_TYPE, its one owner) in inputs.tfvars.json; this default, for runs without the tasks (terraform test), is held equal to it by tests/unit/test_express_parking_budget.py."
  type        = number
  default     = 120
  nullable    = false
}

variable "workflow_log_retention_days" {
  description = "Retention in days of the state machines' log groups."
  type        = number
  default     = 14
}

variable "archive_retention_days" {
  description = "Days the event archive keeps every event of the bus (0 = indefinitely)."
  type        = number
  default     = 30
}

variable "stale_order_minutes" {
  description = "STALE_ORDER_MINUTES of the order service: age after which a non-terminal order is expired by the sweep."
  type        = number
  default     = 30
}

variable "outbox_grace_seconds" {
  description = "OUTBOX_GRACE_SECONDS of the order service: age in seconds after which the stale-order sweep takes an outbox entry (unpublished event, unfinished finalize duty) over from its writer."
  type        = number
  default     = 120

  validation {
    condition     = var.outbox_grace_seconds >= 0 && var.outbox_grace_seconds == floor(var.outbox_grace_seconds)
    error_message = "outbox_grace_seconds must be a whole number of seconds >= 0."
  }
}

variable "stale_sweep_schedule_expression" {
  description = "Scheduler expression of the stale-order sweep, e.g. `rate(5 minutes)`."
  type        = string
  default     = "rate(5 minutes)"
}

variable "stale_sweep_enabled" {
  description = "Whether the stale-order sweep schedule is ENABLED."
  type        = bool
  default     = true
}

variable "alarm_email" {
  description = "Optional e-mail address subscribed to the alarm topic (null = none)."
  type        = string
  default     = null
}

variable "lambda_timeout" {
  description = "Default timeout of the Lambda functions in seconds."
  type        = number
  default     = 30
}

variable "lambda_memory_size" {
  description = "Default memory of the Lambda functions in MB."
  type        = number
  default     = 256
}

variable "lambda_overrides" {
  description = "Per-service overrides keyed by service name: timeout, memory_size, reserved_concurrency (null = unreserved)."
  type = map(object({
    timeout              = optional(number)
    memory_size          = optional(number)
    reserved_concurrency = optional(number)
  }))
  default = {}
}

variable "provisioned_concurrency" {
  description = "Provisioned concurrency per service (order, payment, inventory, notification): that many execution environments kept initialised, so no invocation meets a cold start, billed per GB-second whether used or not (docs/operations.md prices it). Missing or 0 = off (default): nothing is published and callers invoke the function itself. > 0 publishes a version, points the alias `live` at it with the provisioned environments, and the workflow tasks, the API integration and a DLQ redrive invoke the alias."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for n in values(var.provisioned_concurrency) : n >= 0 && n == floor(n)])
    error_message = "provisioned_concurrency values must be whole numbers >= 0 (0 = off)."
  }
}

variable "payment_settings" {
  description = "Environment of the payment service (PAYMENT_* and CIRCUIT_* variables of the contract)."
  type = object({
    customer_limit            = optional(string, "5000.00")
    decline_customers         = optional(string, "customer-declined")
    fault_rate                = optional(number, 0)
    fault_seed                = optional(number, 0)
    circuit_failure_threshold = optional(number, 5)
    circuit_cooldown_seconds  = optional(number, 30)
  })
  default = {}

  validation {
    condition     = var.payment_settings.fault_rate >= 0 && var.payment_settings.fault_rate <= 1
    error_message = "payment_settings.fault_rate must be between 0 and 1."
  }
}

variable "api_throttling_burst_limit" {
  description = "HTTP API default route throttling burst limit."
  type        = number
  default     = 100
}

variable "api_throttling_rate_limit" {
  description = "HTTP API default route throttling rate limit (requests per second)."
  type        = number
  default     = 50
}

variable "event_retry_maximum_attempts" {
  description = "EventBridge retry attempts per rule target before the event goes to the target's DLQ."
  type        = number
  default     = 8
}

variable "event_retry_maximum_event_age_seconds" {
  description = "Maximum age in seconds of an event EventBridge keeps retrying."
  type        = number
  default     = 3600
}

variable "event_replication" {
  description = "Optional cross-region replication of every event to a bus in a second region (off by default)."
  type = object({
    enabled        = bool
    target_bus_arn = optional(string)
  })
  default = { enabled = false }
}

variable "kms_deletion_window_days" {
  description = "Waiting period in days before a scheduled deletion of the environment's KMS key takes effect (7-30)."
  type        = number
  default     = 30
}

variable "table_deletion_protection" {
  description = "Enable DynamoDB deletion protection on every table."
  type        = bool
  default     = false
}

variable "user_pool_deletion_protection" {
  description = "Enable deletion protection on the customers' Cognito user pool (every customer identity)."
  type        = bool
  default     = false
}

variable "bucket_force_destroy" {
  description = "Let `terraform destroy` delete the notifications bucket with its objects."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags for every resource (project, env and managed-by come from the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "operator_principal_arns" {
  description = "IAM principals of this account that may assume the operator role (`<project>-<env>-operator`, the only principal allowed to put orderflow.operator / inventory.admin events). Empty = the account root, i.e. any principal of the account whose own IAM policy allows sts:AssumeRole on the role (and that carries operator_principal_tag)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.operator_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "operator_principal_arns must be IAM ARNs (arn:<partition>:iam::<account>:...); the trust policy accepts principals of this account only."
  }
}

variable "operator_principal_tag" {
  description = "Principal tag (IAM user/role tag or session tag) the caller must carry to assume the operator role: `aws:PrincipalTag/<key>` equals `<value>`. null drops the tag condition (then IAM policies alone decide who may assume the role)."
  type = object({
    key   = string
    value = string
  })
  default = { key = "orderflow-operator", value = "true" }
}
