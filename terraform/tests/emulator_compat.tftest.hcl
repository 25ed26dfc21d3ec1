# emulator_compat = true (envs/local.tfvars) must only add local workarounds and never remove what AWS gets.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  project                  = "orderflow"
  env                      = "local"
  region                   = "us-east-1"
  build_manifest_path      = "./tests/fixtures/manifest.json"
  repo_root                = "./tests/fixtures"
  workflow_definitions_dir = "./tests/fixtures/workflows-local"
  aws_endpoint_url         = "http://127.0.0.1:4566"
  emulator_compat          = true
}

# The local fixtures are the real templates rendered for env "local" (account 123456789012 as the mock's): the
# functions' ARNs must be theirs, or the workflows module refuses the definitions.
override_resource {
  target = module.services["order"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-local-order" }
}

override_resource {
  target = module.services["payment"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-local-payment" }
}

override_resource {
  target = module.services["inventory"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-local-inventory" }
}

override_resource {
  target = module.services["notification"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-local-notification" }
}

# Rule ARNs in the real format, so the event_bus module's check "rule_arns_match" (DLQ policies are built from
# names) holds under the mock provider.
override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["order-created"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-local-bus/orderflow-local-order-created" }
}

override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["order-cancellation-requested"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-local-bus/orderflow-local-order-cancellation-requested" }
}

override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["refund-requested"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-local-bus/orderflow-local-refund-requested" }
}

override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["stale-order-sweep"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-local-bus/orderflow-local-stale-order-sweep" }
}

override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["inventory-restocked"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-local-bus/orderflow-local-inventory-restocked" }
}

override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["stale-order-sweep-compat"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-local-bus/orderflow-local-stale-order-sweep-compat" }
}

run "local_emulator" {
  command = apply

  assert {
    condition     = output.api_url == "http://127.0.0.1:4566/_aws/execute-api/abc123"
    error_message = "On the emulator api_url is <aws_endpoint_url>/_aws/execute-api/<api id>."
  }

  assert {
    condition     = module.emulator_compat.switches == { sfn_tracing_enabled = false, metric_alarms_enabled = false, scheduler_event_fallback = true, jwt_authorizer_payload_format_version = "2.0", schema_registry_enabled = false }
    error_message = "emulator_compat = true must turn on every documented workaround."
  }

  assert {
    condition     = jsondecode(module.event_bus.event_patterns["stale-order-sweep-compat"]) == { source = ["aws.scheduler"], "detail-type" = ["Scheduled Event"] }
    error_message = "Under emulator_compat an extra rule must match the emulator's scheduler event."
  }

  assert {
    condition = module.event_bus.targets["stale-order-sweep-compat"].input_template == join("", [
      "{\"version\":\"0\",\"id\":<id>,\"detail-type\":\"Stale Order Sweep Requested\",\"source\":\"orderflow.scheduler\",",
      "\"account\":<account>,\"time\":<time>,\"region\":<region>,\"resources\":[],\"detail\":{}}",
    ])
    error_message = "The emulator-only sweep rule must rewrite the emulator's event into the contract's sweep event (orderflow.scheduler / Stale Order Sweep Requested)."
  }

  assert {
    condition     = module.event_schemas.registry_name == null && length(module.event_schemas.schema_names) == 0 && output.event_schema_registry_name == null
    error_message = "MiniStack 1.5.33 serves no Schemas API: locally no registry is created."
  }

  assert {
    condition     = module.event_bus.target_arns["stale-order-sweep-compat"] == module.event_bus.target_arns["stale-order-sweep"]
    error_message = "The emulator-only sweep rule must start the same workflow as the real sweep rule."
  }

  assert {
    condition     = jsondecode(module.event_bus.event_patterns["stale-order-sweep"]) == { source = ["orderflow.scheduler"], "detail-type" = ["Stale Order Sweep Requested"] }
    error_message = "The real sweep rule must stay as on AWS."
  }

  assert {
    condition     = length(module.monitoring.alarm_names) == 0
    error_message = "Under emulator_compat the metric alarms are not created (perpetual diff on MiniStack 1.5.33)."
  }

  assert {
    condition     = !anytrue(values(module.workflows.tracing_enabled))
    error_message = "Under emulator_compat the tracing block is omitted (MiniStack 1.5.33 does not store it)."
  }

  assert {
    condition = alltrue([
      for wf, services in module.workflows.invoked_services : services == tolist(["inventory", "notification", "order", "payment"])
    ])
    error_message = "Locally too, each state machine role may invoke exactly the functions its (local) definition names."
  }

  assert {
    condition = alltrue(flatten([
      for wf, doc in module.workflows.policy_json : [
        for statement in jsondecode(doc).Statement : [
          for action in flatten([statement.Action]) : !startswith(lower(action), "dynamodb:") && lower(action) != "events:putevents"
        ]
      ]
    ]))
    error_message = "No state machine role has DynamoDB or PutEvents access locally either."
  }

  assert {
    condition     = alltrue([for s, m in module.services : m.tracing_mode == "Active" && m.dead_letter_target_arn == m.dlq_arn])
    error_message = "Lambda tracing and DLQs are not emulator gaps and stay on locally."
  }

  assert {
    condition = (
      module.api.authorizer.payload_format_version == "2.0" &&
      alltrue([for key, route in module.api.route_authorization : route.authorization_type == "JWT" && route.authorizer_id == module.api.authorizer_id]) &&
      module.api.authorizer.issuer == module.auth.issuer && toset(module.api.authorizer.audience) == toset([module.auth.user_pool_client_id])
    )
    error_message = "Locally the JWT authorizer only states the emulator's payload format version; routes, issuer and audience are as on AWS."
  }
}

run "aws_defaults" {
  command = apply

  variables {
    aws_endpoint_url = null
    emulator_compat  = false
  }

  assert {
    condition = (
      length(keys(module.emulator_compat.switches)) == 5 &&
      module.emulator_compat.switches.schema_registry_enabled == true &&
      module.emulator_compat.switches.sfn_tracing_enabled == true &&
      module.emulator_compat.switches.metric_alarms_enabled == true &&
      module.emulator_compat.switches.scheduler_event_fallback == false &&
      module.emulator_compat.switches.jwt_authorizer_payload_format_version == null
    )
    error_message = "Without emulator_compat every switch takes its production value."
  }

  assert {
    condition     = length(module.monitoring.alarm_names) > 0 && alltrue(values(module.workflows.tracing_enabled))
    error_message = "On AWS the alarms exist and the state machines are traced."
  }

  assert {
    condition     = module.api.authorizer.payload_format_version == null
    error_message = "On AWS the JWT authorizer has no payload format version."
  }
}
