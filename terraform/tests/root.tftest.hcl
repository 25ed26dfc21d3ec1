# Offline tests of the root module (mock AWS provider). Run: cd terraform && terraform init -backend=false && terraform test

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

# Distinct ARNs per state machine and function, so routing and IAM assertions can tell them apart.
override_resource {
  target = module.workflows.aws_sfn_state_machine.this["order-processing"]
  values = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-order-processing" }
}

override_resource {
  target = module.workflows.aws_sfn_state_machine.this["payment-processing"]
  values = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-payment-processing" }
}

override_resource {
  target = module.workflows.aws_sfn_state_machine.this["inventory-management"]
  values = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-inventory-management" }
}

override_resource {
  target = module.services["order"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order" }
}

override_resource {
  target = module.services["payment"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-payment" }
}

override_resource {
  target = module.services["inventory"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-inventory" }
}

override_resource {
  target = module.services["notification"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification" }
}

override_resource {
  target = module.data.aws_dynamodb_table.this["orders"]
  values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-orders" }
}

# Rule ARNs in the real format, so the event_bus module's check "rule_arns_match" (DLQ policies are built from
# names) holds under the mock provider.
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

override_resource {
  target = module.event_bus.aws_cloudwatch_event_rule.this["notifications"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-notifications" }
}

run "event_routing" {
  command = apply

  assert {
    condition     = module.event_bus.target_arns["order-created"] == module.workflows.state_machine_arns["order-processing"]
    error_message = "The Order Created rule must target the order-processing state machine."
  }

  assert {
    condition     = jsondecode(module.event_bus.event_patterns["order-created"]) == { source = ["order.service"], "detail-type" = ["Order Created"] }
    error_message = "The Order Created rule must match source order.service and detail-type \"Order Created\" only."
  }

  assert {
    condition = (
      module.event_bus.target_arns["order-cancellation-requested"] == module.workflows.state_machine_arns["payment-processing"] &&
      module.event_bus.target_arns["refund-requested"] == module.workflows.state_machine_arns["payment-processing"]
    )
    error_message = "Order Cancellation Requested and Refund Requested must target the payment-processing state machine."
  }

  assert {
    condition = (
      module.event_bus.target_arns["stale-order-sweep"] == module.workflows.state_machine_arns["inventory-management"] &&
      module.event_bus.target_arns["inventory-restocked"] == module.workflows.state_machine_arns["inventory-management"]
    )
    error_message = "The stale-order sweep and Inventory Restocked must target the inventory-management state machine."
  }

  assert {
    condition     = jsondecode(module.event_bus.event_patterns["stale-order-sweep"]) == { source = ["orderflow.scheduler"], "detail-type" = ["Stale Order Sweep Requested"] }
    error_message = "The sweep rule must match the contract's scheduler event."
  }

  assert {
    condition     = module.event_bus.target_arns["notifications"] == module.services["notification"].function_arn
    error_message = "Payment/cancellation/completion events must go to the notification Lambda."
  }

  assert {
    condition = toset(jsondecode(module.event_bus.event_patterns["notifications"])["detail-type"]) == toset([
      "Payment Processed", "Payment Failed", "Payment Refunded", "Order Cancellation Requested", "Order Completed",
    ])
    error_message = "The notifications rule must match exactly the five notification detail-types."
  }

  assert {
    condition     = !contains(keys(module.event_bus.target_arns), "stale-order-sweep-compat")
    error_message = "The emulator-only sweep rule must not exist when emulator_compat is false."
  }

  assert {
    condition = toset(jsondecode(module.event_bus.policy_json["start-workflows"]).Statement[0].Resource) == toset([
      "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-order-processing",
      "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-payment-processing",
      "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-inventory-management",
    ])
    error_message = "The EventBridge role may start exactly the three routed state machines."
  }
}

run "iam_least_privilege" {
  command = apply

  assert {
    condition = alltrue(flatten([
      for doc in concat(
        [for m in values(module.services) : m.policy_json],
        values(module.workflows.policy_json),
        values(module.event_bus.policy_json),
        [module.scheduler.policy_json],
        ) : [
        for statement in jsondecode(doc).Statement : [for action in flatten([statement.Action]) : !strcontains(action, "*")]
      ]
    ]))
    error_message = "No IAM policy statement may have a wildcard action."
  }

  assert {
    condition = alltrue(flatten([
      for doc in concat(
        [for m in values(module.services) : m.policy_json],
        values(module.workflows.policy_json),
        values(module.event_bus.policy_json),
        [module.scheduler.policy_json],
        ) : [
        for statement in jsondecode(doc).Statement :
        contains(["XRayTracing", "LogDelivery"], statement.Sid) || !contains(flatten([statement.Resource]), "*")
      ]
    ]))
    error_message = "Resource \"*\" is allowed only in the documented XRayTracing and LogDelivery statements."
  }

  assert {
    condition = (
      module.workflows.invoked_services["order-processing"] == tolist(["inventory", "notification", "payment"]) &&
      module.workflows.invoked_services["payment-processing"] == tolist(["payment"]) &&
      module.workflows.invoked_services["inventory-management"] == tolist(["inventory", "order"])
    )
    error_message = "Each workflow role may invoke only the functions its definition references."
  }

  assert {
    condition = toset(one([
      for s in jsondecode(module.workflows.policy_json["payment-processing"]).Statement : s.Resource if s.Sid == "InvokeOwnFunctions"
      ])) == toset([
      "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-payment",
      "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-payment:*",
    ])
    error_message = "The payment-processing role may invoke only the payment function (and its qualified versions)."
  }

  assert {
    condition = contains(one([
      for s in jsondecode(module.services["order"].policy_json).Statement : s.Resource if s.Sid == "OrdersTable"
    ]), "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-orders/index/*")
    error_message = "The order service must be able to query the orders table's indexes."
  }

  assert {
    condition = toset(one([
      for s in jsondecode(module.services["inventory"].policy_json).Statement : s.Action if s.Sid == "OrdersTable"
    ])) == toset(["dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query"])
    error_message = "The inventory service may only read (reserve reads the stored order), update and condition-check orders: no Put or Delete."
  }
}

run "lambdas" {
  command = apply

  assert {
    condition     = length(module.services) == 4
    error_message = "Every service of the manifest must be deployed."
  }

  assert {
    condition     = alltrue([for s, m in module.services : m.tracing_mode == "Active"])
    error_message = "Every Lambda function must have Active X-Ray tracing."
  }

  assert {
    condition     = alltrue([for s, m in module.services : m.dead_letter_target_arn != null && m.dead_letter_target_arn == m.dlq_arn])
    error_message = "Every Lambda function must send failed async invocations to its own DLQ."
  }

  assert {
    condition     = alltrue([for s, m in module.services : m.log_retention_days == 14])
    error_message = "Lambda log groups must keep logs for log_retention_days (14 by default)."
  }

  assert {
    condition     = output.function_names == { for s in ["order", "payment", "inventory", "notification"] : s => "orderflow-test-${s}" }
    error_message = "Functions must be named <project>-<env>-<service> (the renderer derives their ARNs from the names)."
  }
}

run "workflows_and_outputs" {
  command = apply

  assert {
    condition     = alltrue([for wf, days in module.workflows.log_retention_days : days == 14])
    error_message = "State machine log groups must keep 14 days."
  }

  assert {
    condition     = alltrue(values(module.workflows.tracing_enabled))
    error_message = "State machines must be traced on AWS (emulator_compat = false)."
  }

  assert {
    condition     = output.state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-order-processing"
    error_message = "state_machine_arn must be the order-processing state machine."
  }

  assert {
    condition     = output.api_url == "https://abc123.execute-api.us-east-1.amazonaws.com"
    error_message = "On AWS api_url is the $default stage invoke URL without a trailing slash."
  }

  assert {
    condition = toset(keys(output.dlq_urls)) == toset(concat(
      ["lambda-order", "lambda-payment", "lambda-inventory", "lambda-notification", "scheduler-stale-order-sweep"],
      [for r in ["order-created", "order-cancellation-requested", "refund-requested", "stale-order-sweep", "inventory-restocked", "notifications"] : "events-${r}"],
    ))
    error_message = "dlq_urls must list every Lambda, rule-target and schedule DLQ."
  }

  assert {
    condition     = length(module.monitoring.alarm_names) == 4 + 3 + 11 + 1
    error_message = "On AWS there is one alarm per function, per state machine, per DLQ, plus API 5xx."
  }

  assert {
    condition     = output.event_bus_name == "orderflow-test-bus" && output.orders_table_name == "orderflow-test-orders"
    error_message = "Bus and tables follow <project>-<env>-<thing>."
  }
}

run "api_authorization" {
  command = apply

  assert {
    condition = toset(keys(module.api.route_authorization)) == toset([
      "POST /orders", "GET /orders/{orderId}", "DELETE /orders/{orderId}", "GET /customers/{customerId}/orders",
    ])
    error_message = "The API must have exactly the four contract routes."
  }

  assert {
    condition = alltrue([
      for key, route in module.api.route_authorization :
      route.authorization_type == "JWT" && route.authorizer_id == module.api.authorizer_id
    ])
    error_message = "Every route must use authorization_type JWT with the API's JWT authorizer."
  }

  assert {
    condition     = module.api.authorizer.type == "JWT" && toset(module.api.authorizer.identity_sources) == toset(["$request.header.Authorization"])
    error_message = "The authorizer must be a JWT authorizer reading the Authorization header."
  }

  assert {
    condition     = toset(module.api.authorizer.audience) == toset([module.auth.user_pool_client_id]) && output.user_pool_client_id == "testappclient0000000000001"
    error_message = "The authorizer's audience must be exactly the app client id (user_pool_client_id)."
  }

  assert {
    condition     = module.api.authorizer.issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1" && output.user_pool_id == "us-east-1_TestPool1"
    error_message = "On AWS the authorizer's issuer is the pool's https://cognito-idp.<region>.amazonaws.com/<pool id>."
  }

  assert {
    condition = (
      module.api.lambda_permission.principal == "apigateway.amazonaws.com" &&
      module.api.lambda_permission.action == "lambda:InvokeFunction" &&
      module.api.lambda_permission.source_arn == "arn:aws:execute-api:us-east-1:123456789012:abc123/*/*"
    )
    error_message = "API Gateway may invoke the order function only from this API's execution ARN."
  }

  assert {
    condition     = toset(module.auth.explicit_auth_flows) == toset(["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    error_message = "The app client allows exactly user-password, admin-user-password and refresh sign-in."
  }

  assert {
    condition     = module.auth.admin_group_name == "admins"
    error_message = "The operators' group is `admins` (the order service checks this name)."
  }
}
