output "enabled" {
  description = "Whether emulator compatibility is on (local MiniStack target)."
  value       = var.enabled
}

output "sfn_tracing_enabled" {
  description = "X-Ray tracing on the Step Functions state machines (false only under MiniStack 1.5.33, which does not store tracingConfiguration)."
  value       = local.switches.sfn_tracing_enabled
}

output "metric_alarms_enabled" {
  description = "Create the CloudWatch metric alarms (false only under MiniStack 1.5.33, whose XML DescribeAlarms omits Period/Statistic/Dimensions)."
  value       = local.switches.metric_alarms_enabled
}

output "scheduler_event_fallback" {
  description = "Add an EventBridge rule that also routes the emulator's `aws.scheduler`/`Scheduled Event` to the sweep workflow (true only under MiniStack 1.5.33)."
  value       = local.switches.scheduler_event_fallback
}

output "jwt_authorizer_payload_format_version" {
  description = "authorizer_payload_format_version of the API's JWT authorizer: \"2.0\" only under MiniStack 1.5.33 (which stores it for every authorizer), null on AWS."
  value       = local.switches.jwt_authorizer_payload_format_version
}

output "schema_registry_enabled" {
  description = "Create the EventBridge schema registry (false only under MiniStack 1.5.33, which serves no Schemas API)."
  value       = local.switches.schema_registry_enabled
}

output "switches" {
  description = "All switches as a map, for documentation and for terraform test assertions."
  value       = local.switches
}
