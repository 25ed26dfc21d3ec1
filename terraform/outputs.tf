output "api_url" {
  description = "Base URL of the order API, no trailing slash (`<aws_endpoint_url>/_aws/execute-api/<id>` on the emulator)."
  value       = module.api.api_url
}

output "user_pool_id" {
  description = "Customers' Cognito user pool (usernames are customer ids; `invoke customer` creates them)."
  value       = module.auth.user_pool_id
}

output "user_pool_client_id" {
  description = "The API's Cognito app client (no secret): sign in with it; its ID tokens are the API's bearer tokens."
  value       = module.auth.user_pool_client_id
}

output "event_bus_name" {
  description = "Name of the custom event bus."
  value       = module.event_bus.bus_name
}

output "event_bus_arn" {
  description = "ARN of the custom event bus."
  value       = module.event_bus.bus_arn
}

output "archive_name" {
  description = "Name of the archive of every bus event (replay source)."
  value       = module.event_bus.archive_name
}

output "archive_arn" {
  description = "ARN of the event archive."
  value       = module.event_bus.archive_arn
}

output "orders_table_name" {
  description = "Orders table."
  value       = module.data.table_names["orders"]
}

output "inventory_table_name" {
  description = "Inventory table."
  value       = module.data.table_names["inventory"]
}

output "reservations_table_name" {
  description = "Reservations table."
  value       = module.data.table_names["reservations"]
}

output "payments_table_name" {
  description = "Payments table."
  value       = module.data.table_names["payments"]
}

output "payment_gateway_table_name" {
  description = "The simulated payment provider's ledger (key paymentId)."
  value       = module.data.table_names["payment-gateway"]
}

output "outbox_table_name" {
  description = "Transactional outbox: pending order events and finalize duties (key id)."
  value       = module.data.table_names["outbox"]
}

output "idempotency_table_name" {
  description = "Idempotency table (Powertools; TTL attribute `expiration`)."
  value       = module.data.table_names["idempotency"]
}

output "circuit_breaker_table_name" {
  description = "Circuit-breaker table."
  value       = module.data.table_names["circuit-breaker"]
}

output "state_machine_arn" {
  description = "ARN of the order-processing state machine."
  value       = module.workflows.state_machine_arns["order-processing"]
}

output "state_machine_arns" {
  description = "State machine ARNs keyed by workflow name."
  value       = module.workflows.state_machine_arns
}

output "workflow_types" {
  description = "Step Functions type (STANDARD or EXPRESS) of each state machine keyed by workflow name: how the tools read an execution's states (scripts/history.py)."
  value       = module.workflows.workflow_types
}

output "workflow_log_group_names" {
  description = "Execution log group of each state machine keyed by workflow name (an EXPRESS workflow's states are read from it on AWS)."
  value       = module.workflows.log_group_names
}

output "function_names" {
  description = "Lambda function names keyed by service."
  value       = { for s, m in module.services : s => m.function_name }
}

output "function_qualifiers" {
  description = "The alias every caller invokes, keyed by service, for the services with provisioned concurrency ({} when it is off everywhere); `invoke warm` warms that alias."
  value       = { for s, m in module.services : s => m.qualifier if m.qualifier != null }

  precondition {
    condition     = length(setsubtract(keys(var.provisioned_concurrency), keys(local.services))) == 0
    error_message = "provisioned_concurrency names services that are not built: ${join(", ", setsubtract(keys(var.provisioned_concurrency), keys(local.services)))} (the services are ${join(", ", sort(keys(local.services)))})."
  }
}

output "provisioned_concurrency" {
  description = "Provisioned concurrent executions per service (0: off)."
  value       = { for s, m in module.services : s => m.provisioned_concurrency }
}

output "dlq_urls" {
  description = "Dead-letter queue URLs: `lambda-<service>` (async invocations), `events-<rule>` (rule targets), `scheduler-stale-order-sweep`."
  value       = local.dlq_urls
}

output "dlq_sources" {
  description = "Where each DLQ's messages were going, keyed like dlq_urls: kind (lambda, state_machine, event_bus), target ARN, the rule's input_transformer, and for the schedule's put the event source and detail-type. `invoke dlq redrive` reads it."
  value       = local.dlq_sources
}

output "notifications_bucket" {
  description = "Notifications bucket name."
  value       = module.notifications_bucket.bucket_name
}

output "dashboard_name" {
  description = "CloudWatch dashboard name."
  value       = module.monitoring.dashboard_name
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = module.monitoring.alarm_topic_arn
}

output "region" {
  description = "Region of the stack."
  value       = var.region
}

output "aws_endpoint_url" {
  description = "Emulator endpoint the stack was deployed to (null on AWS)."
  value       = var.aws_endpoint_url
}

output "operator_role_arn" {
  description = "Role operators assume (sts:AssumeRole) to put orderflow.operator / inventory.admin events on the bus; no other principal of the stack may put them."
  value       = module.operator.role_arn
}

output "operator_event_sources" {
  description = "The event sources that only the operator role may put (tooling assumes operator_role_arn for these)."
  value       = module.operator.event_sources
}

output "bus_publishers" {
  description = "Who may put which events on the bus: principal (service, workflow/<name>, scheduler, operator) -> source -> detail-types (terraform/service_permissions.json; workflow/integrations.json `events` for the workflows)."
  value       = local.bus_publishers
}

output "event_schema_registry_name" {
  description = "The EventBridge schema registry holding one schema per event contract (null where the cloud has no Schemas API: the local emulator)."
  value       = module.event_schemas.registry_name
}
