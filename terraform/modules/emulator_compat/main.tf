# Emulator compatibility: the ONE place where the local emulator changes what Terraform deploys.
#
# Every switch below names the MiniStack version it was measured on and the gap it works around. Each gap has a
# guard test in tests/emulator/test_terraform_gaps.py that FAILS once MiniStack fixes the gap, so the switch can go.
# With enabled = false (every real AWS environment) every switch takes its production value: nothing deployed to
# AWS is weakened by this module.

locals {
  switches = {
    # MiniStack 1.5.33: Step Functions does not store tracingConfiguration (DescribeStateMachine omits it), so
    # `tracing_configuration { enabled = true }` shows a perpetual diff. Locally tracing is left off; on AWS it is on.
    # Guard: test_sfn_tracing_configuration_not_stored.
    sfn_tracing_enabled = !var.enabled

    # MiniStack 1.5.33: CloudWatch DescribeAlarms over the query/XML protocol (the one the Terraform AWS provider
    # uses) omits Period, Statistic, Dimensions, ActionsEnabled, TreatMissingData and the alarm actions, so every
    # aws_cloudwatch_metric_alarm shows a perpetual diff, and `ignore_changes` makes the provider fail its own
    # "one of statistic or extended_statistic" check on plan and destroy. Locally the metric alarms are not created
    # (the SNS topic and the dashboard still are); on AWS they are.
    # Guard: test_describe_alarms_xml_omits_period_and_statistic.
    metric_alarms_enabled = !var.enabled

    # MiniStack 1.5.33: EventBridge Scheduler ignores the target's EventBridgeParameters and puts the event with
    # source `aws.scheduler` and detail-type `Scheduled Event`, so the stale-order sweep rule (orderflow.scheduler /
    # "Stale Order Sweep Requested") never matches. Locally an extra rule matches the emulator's shape and rewrites
    # it (input transformer) into the contract's sweep event; the real rule is unchanged and still deployed.
    # Guard: test_scheduler_ignores_eventbridge_parameters.
    scheduler_event_fallback = var.enabled

    # MiniStack 1.5.33: CreateAuthorizer stores authorizerPayloadFormatVersion "2.0" for every authorizer, the JWT
    # authorizer too (AWS leaves it unset: it only applies to Lambda REQUEST authorizers), so the API's JWT authorizer
    # shows a perpetual `"2.0" -> null` diff. Locally the authorizer states the emulator's "2.0" itself; on AWS the
    # attribute stays unset. Nothing about token validation changes.
    # Guard: tests/emulator/test_auth_gaps.py::test_jwt_authorizer_gets_a_payload_format_version.
    jwt_authorizer_payload_format_version = var.enabled ? "2.0" : null

    # MiniStack 1.5.33 has no EventBridge Schemas API (CreateRegistry is not served), so the schema registry and
    # its schemas cannot be created locally. The contracts still drive every rule, grant and test; on AWS the
    # registry is created. Guard: test_schemas_api_not_served.
    schema_registry_enabled = !var.enabled
  }
}
