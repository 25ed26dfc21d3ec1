# Provisioned concurrency is a tfvars switch (variable provisioned_concurrency, off by default): off, nothing is
# published and every caller invokes the function itself; on for a service, its alias `live` carries the provisioned
# environments and every caller (workflow tasks, the API) invokes that alias. (No rule targets a Lambda function since the
# notifications rule went: one notification per outcome, from the workflows.)

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  project                  = "orderflow"
  env                      = "test"
  region                   = "us-east-1"
  build_manifest_path      = "./tests/fixtures/manifest.json"
  repo_root                = "./tests/fixtures"
  workflow_definitions_dir = "./tests/fixtures/workflows"
  aws_endpoint_url         = null
  emulator_compat          = false
}

# The functions' and aliases' ARNs as AWS forms them (and as scripts/render.py writes them into the definitions).
override_resource {
  target = module.services["order"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order", version = "3" }
}

override_resource {
  target = module.services["payment"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-payment", version = "3" }
}

override_resource {
  target = module.services["inventory"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-inventory", version = "3" }
}

override_resource {
  target = module.services["notification"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification", version = "3" }
}

override_resource {
  target = module.services["order"].aws_lambda_alias.live
  values = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order:live"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order:live/invocations"
  }
}

override_resource {
  target = module.services["notification"].aws_lambda_alias.live
  values = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification:live"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification:live/invocations"
  }
}

# Rule ARNs in the real format (the event_bus module's check "rule_arns_match").
override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["order-created"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-order-created" }
}

override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["order-cancellation-requested"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-order-cancellation-requested" }
}

override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["refund-requested"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-refund-requested" }
}

override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["stale-order-sweep"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-stale-order-sweep" }
}

override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["inventory-restocked"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-inventory-restocked" }
}

run "off_by_default_nothing_is_published_and_callers_invoke_the_functions" {
  command = apply

  assert {
    condition = alltrue([for s in ["order", "payment", "inventory", "notification"] : (
      module.services[s].provisioned_concurrency == 0 && module.services[s].qualifier == null &&
      !module.services[s].published && module.services[s].invoke_target_arn == module.services[s].function_arn
    )])
    error_message = "Without provisioned_concurrency no function may publish a version or have an alias."
  }
  assert {
    condition     = output.function_qualifiers == {} && output.provisioned_concurrency == { order = 0, payment = 0, inventory = 0, notification = 0 }
    error_message = "Off by default: no qualifier for any service, 0 provisioned everywhere."
  }
  assert {
    condition = alltrue([for wf in ["order-processing", "payment-processing", "inventory-management"] :
    module.workflows.definitions[wf] == file("./tests/fixtures/workflows/${wf}.asl.json")])
    error_message = "Without provisioned concurrency the state machines must get the rendered definitions unchanged."
  }
  assert {
    condition     = module.api.integration_uri == "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order" && module.api.lambda_permission.qualifier == null
    error_message = "Without provisioned concurrency the API must invoke the order function itself, granted unqualified."
  }
}

run "on_for_a_service_its_alias_carries_it_and_every_caller_invokes_the_alias" {
  command = apply

  variables {
    provisioned_concurrency = { order = 4, notification = 2, payment = 0 }
  }

  assert {
    condition = (
      module.services["order"].provisioned_concurrency == 4 && module.services["order"].published &&
      module.services["order"].qualifier == "live" &&
      module.services["order"].invoke_target_arn == "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order:live" &&
      module.services["notification"].provisioned_concurrency == 2 && module.services["notification"].qualifier == "live"
    )
    error_message = "A service with provisioned_concurrency > 0 must publish, have the alias live and that many provisioned environments."
  }
  assert {
    condition = alltrue([for s in ["payment", "inventory"] : (
      module.services[s].provisioned_concurrency == 0 && module.services[s].qualifier == null && !module.services[s].published
    )])
    error_message = "A service at 0 (or not named) must stay unpublished, without alias."
  }
  assert {
    condition     = output.function_qualifiers == { order = "live", notification = "live" }
    error_message = "function_qualifiers (what invoke warm warms) must name the alias of exactly the provisioned services."
  }
  assert {
    condition = alltrue([for wf in ["order-processing", "payment-processing", "inventory-management"] : (
      strcontains(module.workflows.definitions[wf], "\"arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order:live\"") &&
      !strcontains(module.workflows.definitions[wf], "\"arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order\"") &&
      strcontains(module.workflows.definitions[wf], "\"arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification:live\"") &&
      !strcontains(module.workflows.definitions[wf], "\"arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification\"") &&
      strcontains(module.workflows.definitions[wf], "\"arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-payment\"") &&
      !strcontains(module.workflows.definitions[wf], "orderflow-test-payment:live")
    )])
    error_message = "Every task of a provisioned function must invoke its alias, and only those."
  }
  assert {
    condition = alltrue([for wf in ["order-processing", "payment-processing", "inventory-management"] :
      jsondecode(module.workflows.definitions[wf]) == jsondecode(replace(replace(file("./tests/fixtures/workflows/${wf}.asl.json"),
        "\"arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order\"", "\"arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order:live\""),
    "\"arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification\"", "\"arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification:live\""))])
    error_message = "Nothing but the provisioned functions' ARNs may change in the definitions."
  }
  assert {
    condition = alltrue([for wf in ["order-processing", "payment-processing", "inventory-management"] : contains(
      flatten([for s in module.workflows.policy_statements[wf] : s.resources if s.sid == "InvokeOwnFunctions"]),
      "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order:*"
    )])
    error_message = "Each workflow role must be allowed to invoke the order function's alias (<arn>:*)."
  }
  assert {
    condition     = module.api.integration_uri == "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order:live" && module.api.lambda_permission.qualifier == "live"
    error_message = "The API must invoke the order function's alias, with API Gateway's grant on the alias."
  }
}

run "a_service_that_is_not_built_is_refused" {
  command = plan

  variables {
    provisioned_concurrency = { ordr = 1 }
  }

  expect_failures = [output.function_qualifiers]
}

run "a_negative_or_fractional_count_is_refused" {
  command = plan

  variables {
    provisioned_concurrency = { order = -1, payment = 1.5 }
  }

  expect_failures = [var.provisioned_concurrency]
}

run "the_module_provisions_on_the_alias_of_the_published_version" {
  command = apply

  module {
    source = "./modules/lambda_service"
  }

  variables {
    function_name           = "orderflow-test-payment"
    handler                 = "payment.handler.lambda_handler"
    zip_path                = "./tests/fixtures/build/dist/payment.zip"
    source_code_hash        = "cGF5bWVudC1mYWtlLWhhc2gtZm9yLXRlcnJhZm9ybS10ZXN0"
    kms_key_arn             = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    provisioned_concurrency = 3
    reserved_concurrency    = 5
  }

  assert {
    condition     = aws_lambda_function.this.publish && aws_lambda_alias.live[0].name == "live" && aws_lambda_alias.live[0].function_version == aws_lambda_function.this.version
    error_message = "The alias live must point at the version the function publishes."
  }
  assert {
    condition     = aws_lambda_provisioned_concurrency_config.live[0].qualifier == "live" && aws_lambda_provisioned_concurrency_config.live[0].provisioned_concurrent_executions == 3 && aws_lambda_provisioned_concurrency_config.live[0].function_name == "orderflow-test-payment"
    error_message = "The provisioned concurrency must be configured on the alias, with the configured count."
  }
}

run "the_module_refuses_more_provisioned_than_reserved" {
  command = plan

  module {
    source = "./modules/lambda_service"
  }

  variables {
    function_name           = "orderflow-test-payment"
    handler                 = "payment.handler.lambda_handler"
    zip_path                = "./tests/fixtures/build/dist/payment.zip"
    source_code_hash        = "cGF5bWVudC1mYWtlLWhhc2gtZm9yLXRlcnJhZm9ybS10ZXN0"
    kms_key_arn             = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    provisioned_concurrency = 6
    reserved_concurrency    = 5
  }

  expect_failures = [var.provisioned_concurrency]
}
