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

override_resource {
  target = module.data.aws_dynamodb_table.this["inventory"]
  values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-inventory" }
}

override_resource {
  target = module.data.aws_dynamodb_table.this["reservations"]
  values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-reservations" }
}

override_resource {
  target = module.data.aws_dynamodb_table.this["payments"]
  values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-payments" }
}

override_resource {
  target = module.data.aws_dynamodb_table.this["payment-gateway"]
  values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-payment-gateway" }
}

override_resource {
  target = module.data.aws_dynamodb_table.this["outbox"]
  values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-outbox" }
}

override_resource {
  target = module.data.aws_dynamodb_table.this["idempotency"]
  values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-idempotency" }
}

override_resource {
  target = module.data.aws_dynamodb_table.this["circuit-breaker"]
  values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-circuit-breaker" }
}

# The bucket as AWS names it (the mock would answer a random name), so environment and IAM assertions can name it.
override_resource {
  target = module.notifications_bucket.aws_s3_bucket.this
  values = {
    id     = "orderflow-test-notifications-123456789012"
    bucket = "orderflow-test-notifications-123456789012"
    arn    = "arn:aws:s3:::orderflow-test-notifications-123456789012"
  }
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
    condition     = !contains(values(module.event_bus.target_arns), module.services["notification"].function_arn)
    error_message = "No rule targets the notification Lambda: the finalizing workflow notifies each outcome once (issue 13)."
  }

  assert {
    condition     = alltrue([for rule, pattern in module.event_bus.event_patterns : !strcontains(pattern, "order.workflow")])
    error_message = "No rule may match the retired source order.workflow (the workflows publish nothing)."
  }

  assert {
    condition     = !contains(keys(module.event_bus.target_arns), "stale-order-sweep-compat")
    error_message = "The emulator-only sweep rule must not exist when emulator_compat is false."
  }

  assert {
    condition = toset(module.event_bus.policy_statements["start-workflows"][0].resources) == toset([
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
        [for m in values(module.services) : m.policy_statements],
        values(module.workflows.policy_statements),
        values(module.event_bus.policy_statements),
        [module.scheduler.policy_statements],
        ) : [
        for statement in doc : [for action in statement.actions : !strcontains(action, "*")]
      ]
    ]))
    error_message = "No IAM policy statement may have a wildcard action."
  }

  assert {
    condition = alltrue(flatten([
      for doc in concat(
        [for m in values(module.services) : m.policy_statements],
        values(module.workflows.policy_statements),
        values(module.event_bus.policy_statements),
        [module.scheduler.policy_statements],
        ) : [
        for statement in doc :
        contains(["XRayTracing", "LogDelivery"], statement.sid) || !contains(statement.resources, "*")
      ]
    ]))
    error_message = "Resource \"*\" is allowed only in the documented XRayTracing and LogDelivery statements."
  }

  # The fixtures are the real templates rendered for env "test" (docs/terraform.md, "Checks"). Independently of the
  # declaration the grants come from (workflow/integrations.json): every FunctionName in a definition must be granted,
  # and nothing else.
  assert {
    condition = alltrue([
      for wf in ["order-processing", "payment-processing", "inventory-management"] :
      toset(one([for s in module.workflows.policy_statements[wf] : s.resources if s.sid == "InvokeOwnFunctions"])) == toset(flatten([
        for arn in distinct(flatten(regexall("\"FunctionName\"\\s*:\\s*\"(arn:aws:lambda:[^\"]+)\"", file("./tests/fixtures/workflows/${wf}.asl.json")))) :
        [arn, "${arn}:*"]
      ]))
    ])
    error_message = "Each state machine role must be able to invoke exactly the functions its definition names (and their qualified versions)."
  }

  assert {
    condition = alltrue([
      for wf in ["order-processing", "payment-processing", "inventory-management"] :
      module.workflows.invoked_services[wf] == tolist(["inventory", "notification", "order", "payment"])
    ])
    error_message = "Every workflow invokes the order Lambda (claim/find_stale) and, through the finalize fragment, payment, inventory and notification."
  }

  assert {
    condition = length(module.workflows.state_machine_names) == 3 && alltrue([
      for wf, name in module.workflows.state_machine_names :
      toset(flatten(regexall("\"Resource\"\\s*:\\s*\"([^\"]*)\"", file("./tests/fixtures/workflows/${wf}.asl.json")))) == toset(concat(["arn:aws:states:::lambda:invoke", "arn:aws:states:::dynamodb:deleteItem"], wf == "order-processing" ? ["arn:aws:states:::dynamodb:updateItem", "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems", "arn:aws:states:::events:putEvents"] : []))
    ])
    error_message = "The workflows' task integrations are arn:aws:states:::lambda:invoke, the finalize fragment's Settle (arn:aws:states:::dynamodb:deleteItem) and order-processing's OwnOrder (arn:aws:states:::dynamodb:updateItem), CompleteOrder (arn:aws:states:::aws-sdk:dynamodb:transactWriteItems), PublishCompleted (arn:aws:states:::events:putEvents) and ForgetCompletedEvent (deleteItem)."
  }

  assert {
    condition = alltrue([
      for wf in ["order-processing", "payment-processing", "inventory-management"] :
      [for s in module.workflows.policy_statements[wf] : { sid = s.sid, actions = toset(s.actions), resources = toset(s.resources) } if anytrue([for a in s.actions : startswith(lower(a), "dynamodb:")])] == concat(
        wf == "order-processing" ? [{ sid = "TableOrders", actions = toset(["dynamodb:UpdateItem"]), resources = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-orders"]) }] : [],
        [{ sid = "TableOutbox", actions = toset(wf == "order-processing" ? ["dynamodb:DeleteItem", "dynamodb:PutItem"] : ["dynamodb:DeleteItem"]), resources = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-outbox"]) }]
      )
    ])
    error_message = "Each state machine role may do exactly dynamodb:DeleteItem on the outbox table (Settle deletes the finalize duty), order-processing's also dynamodb:UpdateItem on the orders table (OwnOrder records the owner, CompleteOrder completes the order) and dynamodb:PutItem on the outbox table (CompleteOrder queues the event and the duty), and nothing else of DynamoDB."
  }

  assert {
    condition = alltrue([
      for wf in ["order-processing", "payment-processing", "inventory-management"] :
      [for s in module.workflows.policy_statements[wf] : jsondecode(jsonencode({ actions = s.actions, resources = s.resources, condition = s.condition })) if anytrue([for a in s.actions : startswith(lower(a), "kms:")])] == [
        {
          actions   = ["kms:Decrypt"]
          resources = ["arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"]
          condition = [{ test = "StringEquals", variable = "kms:ViaService", values = ["dynamodb.us-east-1.amazonaws.com"] }]
        }
      ]
    ])
    error_message = "A state machine role may use the stack's key only to decrypt, and only through DynamoDB (the outbox table is encrypted with it)."
  }

  # Read independently of main.tf: the `events` each workflow declares (workflow/integrations.json), each contract's
  # source and detail-type from its schema file. A workflow role's PutEvents is exactly that, per source; a workflow
  # without `events` (today: all three) gets none.
  assert {
    condition = jsonencode({
      for wf in ["order-processing", "payment-processing", "inventory-management"] : wf => {
        for s in module.workflows.policy_statements[wf] :
        one(flatten([for c in s.condition : c.values if c.test == "StringEquals" && c.variable == "events:source"])) => sort(flatten([
          for c in s.condition : c.values if c.test == "StringEquals" && c.variable == "events:detail-type"
        ]))
        if anytrue([for a in s.actions : lower(a) == "events:putevents"])
      }
      }) == jsonencode({
      for wf in ["order-processing", "payment-processing", "inventory-management"] : wf => {
        for source, detail_types in {
          for name in try(jsondecode(file("../workflow/integrations.json")).workflows[wf].events, []) :
          jsondecode(file("../services/shared/schemas/events/${name}.json"))["x-amazon-events-source"] => jsondecode(file("../services/shared/schemas/events/${name}.json"))["x-amazon-events-detail-type"]...
        } : source => sort(detail_types)
      }
    })
    error_message = "A state machine role may put exactly the events its workflow declares (integrations.json `events`), one PutEvents statement per source naming exactly its detail-types; a workflow without `events` no PutEvents."
  }

  assert {
    condition = alltrue(flatten([
      for wf, doc in module.workflows.policy_statements : [
        for s in doc : (
          s.effect == "Allow" && s.actions == toset(["events:PutEvents"]) && s.not_actions == null && s.not_resources == null &&
          s.resources == toset(["arn:aws:events:us-east-1:123456789012:event-bus/orderflow-test-bus"]) &&
          toset([for c in s.condition : "${c.test} ${c.variable}"]) == toset(["StringEquals events:source", "StringEquals events:detail-type"]) &&
          length(s.condition) == 2 && length(one([for c in s.condition : c.values if c.variable == "events:source"])) == 1
        ) if anytrue([for a in s.actions : lower(a) == "events:putevents"])
      ]
    ]))
    error_message = "A state machine role's PutEvents statement allows only events:PutEvents on the stack's bus, with StringEquals on exactly one events:source and on events:detail-type."
  }

  assert {
    condition = [
      for s in module.services["order"].policy_statements : {
        actions   = toset(s.actions)
        resources = toset(s.resources)
      } if s.sid == "OrdersIndexes"
      ] == [{
        actions   = toset(["dynamodb:Query"])
        resources = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-orders/index/*"])
    }]
    error_message = "The order service must be able to query the orders table's indexes (dynamodb:Query only, in its own OrdersIndexes statement)."
  }

  assert {
    condition = [
      for s in module.services["order"].policy_statements : {
        actions   = toset(s.actions)
        resources = toset(s.resources)
      } if s.sid == "InventoryCatalogue"
      ] == [{
        actions   = toset(["dynamodb:BatchGetItem"])
        resources = toset(["arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-inventory"])
    }]
    error_message = "The order service must read the catalogue prices (dynamodb:BatchGetItem) on the inventory table, and only there."
  }

  assert {
    condition = alltrue([
      for s in module.services["order"].policy_statements :
      s.sid == "InventoryCatalogue" || !anytrue([for r in s.resources : strcontains(r, ":table/orderflow-test-inventory")])
    ])
    error_message = "Only the InventoryCatalogue statement may name the inventory table in the order service's policy (read only)."
  }

  # Per service: exactly the DynamoDB actions its code calls, per table ARN (TransactWriteItems is authorised per item
  # action, so a transaction's Put/Update needs PutItem/UpdateItem on that item's table).
  assert {
    condition = {
      for arn in distinct(flatten([for s in module.services["order"].policy_statements : s.resources])) :
      arn => toset(flatten([for s in module.services["order"].policy_statements : s.actions if contains(s.resources, arn)]))
      if startswith(arn, "arn:aws:dynamodb:")
      } == {
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-orders"         = toset(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-orders/index/*" = toset(["dynamodb:Query"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-outbox"         = toset(["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-inventory"      = toset(["dynamodb:BatchGetItem"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-idempotency"    = toset(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"])
    }
    error_message = "order: orders Get/Put/Update/Query, its indexes Query only; outbox Put/Delete/Scan (its transactions, publish, settle, sweep); inventory BatchGetItem (prices); Powertools idempotency. No DeleteItem on orders."
  }

  assert {
    condition = {
      for arn in distinct(flatten([for s in module.services["payment"].policy_statements : s.resources])) :
      arn => toset(flatten([for s in module.services["payment"].policy_statements : s.actions if contains(s.resources, arn)]))
      if startswith(arn, "arn:aws:dynamodb:")
      } == {
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-payments"        = toset(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-payment-gateway" = toset(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-orders"          = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-outbox"          = toset(["dynamodb:PutItem"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-circuit-breaker" = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"])
    }
    error_message = "payment: payments and payment-gateway Put/Get/Update; orders (no index) Get/Update; outbox Put (the PAYMENT_FAILED claim's finalize duty); circuit-breaker Get/Update."
  }

  assert {
    condition = {
      for arn in distinct(flatten([for s in module.services["inventory"].policy_statements : s.resources])) :
      arn => toset(flatten([for s in module.services["inventory"].policy_statements : s.actions if contains(s.resources, arn)]))
      if startswith(arn, "arn:aws:dynamodb:")
      } == {
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-inventory"    = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-reservations" = toset(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-orders"       = toset(["dynamodb:GetItem", "dynamodb:UpdateItem"])
      "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-idempotency"  = toset(["dynamodb:PutItem", "dynamodb:GetItem"])
    }
    error_message = "inventory: inventory Get/Update; reservations Get/Put/Update; orders (no index) Get/Update; idempotency Put/Get (restock markers) only."
  }

  assert {
    condition = alltrue([
      for action in ["dynamodb:PutItem", "dynamodb:DeleteItem"] : contains(flatten([
        for s in module.services["order"].policy_statements : s.actions
        if contains(s.resources, "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-outbox")
      ]), action)
    ])
    error_message = "The order role must be able to Put (TransactWriteItems) and Delete outbox entries."
  }

  assert {
    condition = alltrue([
      for action in ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"] : contains(flatten([
        for s in module.services["payment"].policy_statements : s.actions
        if contains(s.resources, "arn:aws:dynamodb:us-east-1:123456789012:table/orderflow-test-payment-gateway")
      ]), action)
    ])
    error_message = "The payment role must be able to PutItem, UpdateItem and GetItem on the payment-gateway ledger."
  }

  assert {
    condition = {
      for s in module.services["notification"].policy_statements : s.sid => {
        actions = toset(s.actions), resources = toset(s.resources)
      } if contains(["WriteNotifications", "ListNotifications"], s.sid)
      } == {
      WriteNotifications = {
        actions   = toset(["s3:PutObject", "s3:GetObject"])
        resources = toset(["arn:aws:s3:::orderflow-test-notifications-123456789012/*"])
      }
      ListNotifications = {
        actions   = toset(["s3:ListBucket"])
        resources = toset(["arn:aws:s3:::orderflow-test-notifications-123456789012"])
      }
    }
    error_message = "notification: Put/Get objects of the notifications bucket, ListBucket on it (HeadObject's 404), nothing else of S3."
  }

  assert {
    condition     = length(flatten([for s in module.services["notification"].policy_statements : [for a in s.actions : a if startswith(a, "dynamodb:")]])) == 0
    error_message = "The notification service has no DynamoDB access."
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
      [for r in ["order-created", "order-cancellation-requested", "refund-requested", "stale-order-sweep", "inventory-restocked"] : "events-${r}"],
    ))
    error_message = "dlq_urls must list every Lambda, rule-target and schedule DLQ."
  }

  assert {
    condition     = length(module.monitoring.alarm_names) == 4 + 3 + 10 + 1
    error_message = "On AWS there is one alarm per function, per state machine, per DLQ, plus API 5xx."
  }

  assert {
    condition     = output.event_bus_name == "orderflow-test-bus" && output.orders_table_name == "orderflow-test-orders"
    error_message = "Bus and tables follow <project>-<env>-<thing>."
  }
}

run "dlq_sources_name_each_queues_target" {
  command = apply

  assert {
    condition     = toset(keys(output.dlq_sources)) == toset(keys(output.dlq_urls))
    error_message = "Every DLQ has a source, and every source a DLQ: invoke dlq redrive needs to know where each message was going."
  }

  assert {
    condition = (
      output.dlq_sources["lambda-payment"].kind == "lambda" &&
      output.dlq_sources["lambda-payment"].arn == "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-payment" &&
      output.dlq_sources["events-order-created"].kind == "state_machine" &&
      output.dlq_sources["events-order-created"].arn == "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-order-processing" &&
      output.dlq_sources["events-refund-requested"].arn == "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-payment-processing" &&
      output.dlq_sources["events-inventory-restocked"].arn == "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-inventory-management" &&
      output.dlq_sources["lambda-notification"].kind == "lambda" &&
      output.dlq_sources["lambda-notification"].arn == "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification" &&
      output.dlq_sources["events-order-created"].input_transformer == null
    )
    error_message = "A function's DLQ goes back to the function, a rule's DLQ to the rule's own target."
  }

  assert {
    condition = (
      output.dlq_sources["scheduler-stale-order-sweep"].kind == "event_bus" &&
      output.dlq_sources["scheduler-stale-order-sweep"].arn == output.event_bus_arn &&
      output.dlq_sources["scheduler-stale-order-sweep"].event_source == "orderflow.scheduler" &&
      output.dlq_sources["scheduler-stale-order-sweep"].detail_type == "Stale Order Sweep Requested"
    )
    error_message = "The schedule's DLQ goes back to the bus with the schedule's source and detail-type."
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

run "tables_and_environment" {
  command = apply

  assert {
    condition     = output.outbox_table_name == "orderflow-test-outbox" && output.payment_gateway_table_name == "orderflow-test-payment-gateway"
    error_message = "The outbox and payment-gateway tables follow <project>-<env>-<table>."
  }

  assert {
    condition = (
      module.data.keys["outbox"].hash_key == "id" && module.data.keys["outbox"].range_key == null &&
      module.data.keys["payment-gateway"].hash_key == "paymentId" && module.data.keys["payment-gateway"].range_key == null
    )
    error_message = "outbox is keyed by id, payment-gateway by paymentId (HASH only)."
  }

  assert {
    condition = alltrue([
      for s, m in module.services :
      m.environment["OUTBOX_TABLE"] == "orderflow-test-outbox" && m.environment["PAYMENT_GATEWAY_TABLE"] == "orderflow-test-payment-gateway"
    ])
    error_message = "Every function must have OUTBOX_TABLE and PAYMENT_GATEWAY_TABLE naming the outbox and payment-gateway tables."
  }

  assert {
    condition = alltrue([
      for s, m in module.services : alltrue([
        for table, variable in {
          "orders"      = "ORDERS_TABLE", "inventory" = "INVENTORY_TABLE", "reservations" = "RESERVATIONS_TABLE",
          "payments"    = "PAYMENTS_TABLE", "payment-gateway" = "PAYMENT_GATEWAY_TABLE", "outbox" = "OUTBOX_TABLE",
          "idempotency" = "IDEMPOTENCY_TABLE", "circuit-breaker" = "CIRCUIT_BREAKER_TABLE",
        } : lookup(m.environment, variable, null) == "orderflow-test-${table}"
      ])
    ])
    error_message = "Every function must name every table in its <TABLE>_TABLE variable (docs/architecture.md, Lambda environment variables)."
  }

  assert {
    condition     = module.services["order"].environment["OUTBOX_GRACE_SECONDS"] == "120" && module.services["order"].environment["STALE_ORDER_MINUTES"] == "30"
    error_message = "The order function gets OUTBOX_GRACE_SECONDS (default 120) and STALE_ORDER_MINUTES."
  }

  assert {
    condition     = alltrue([for s, m in module.services : s == "order" || !contains(keys(m.environment), "OUTBOX_GRACE_SECONDS")])
    error_message = "OUTBOX_GRACE_SECONDS is the order function's only."
  }
}

# order_workflow_type: STANDARD by default; EXPRESS deploys the order workflow (only) as EXPRESS, rendered for it;
# any other value is refused before anything is planned.
run "order_workflow_type_defaults_to_standard" {
  command = plan

  assert {
    condition     = var.order_workflow_type == "STANDARD" && alltrue([for wf, sm in module.workflows.workflow_types : sm == "STANDARD"])
    error_message = "Every state machine is STANDARD by default."
  }
}

run "order_workflow_type_express" {
  command = apply

  variables {
    order_workflow_type      = "EXPRESS"
    workflow_definitions_dir = "./tests/fixtures/workflows-express"
  }

  assert {
    condition     = output.workflow_types == { order-processing = "EXPRESS", payment-processing = "STANDARD", inventory-management = "STANDARD" }
    error_message = "order_workflow_type = EXPRESS makes the order workflow (only) EXPRESS."
  }

  assert {
    condition     = output.workflow_log_group_names["order-processing"] == "/aws/vendedlogs/states/orderflow-test-order-processing"
    error_message = "The order workflow's execution log group is an output (an EXPRESS workflow's states are read from it)."
  }

  assert {
    condition     = module.workflows.parking_budget_seconds["order-processing"] == 120
    error_message = "Deployed as EXPRESS, the order workflow parks for at most 120 s."
  }
}

run "order_workflow_type_refuses_other_values" {
  command = plan

  variables {
    order_workflow_type = "express"
  }

  expect_failures = [var.order_workflow_type]
}

run "outbox_grace_seconds_is_passed_through" {
  command = plan

  variables {
    outbox_grace_seconds = 300
  }

  assert {
    condition     = module.services["order"].environment["OUTBOX_GRACE_SECONDS"] == "300"
    error_message = "outbox_grace_seconds must reach the order function as OUTBOX_GRACE_SECONDS."
  }
}

run "outbox_grace_seconds_must_not_be_negative" {
  command = plan

  variables {
    outbox_grace_seconds = -1
  }

  expect_failures = [var.outbox_grace_seconds]
}

# One registry schema per contract file (services/shared/schemas/events), each the file's exact content.
run "event_contracts_in_the_schema_registry" {
  command = apply

  assert {
    condition = module.event_schemas.schema_names == tolist([
      "InventoryReleased", "InventoryReserved", "InventoryRestocked", "InventoryUnavailable", "OrderCancellationRequested",
      "OrderCompleted", "OrderCreated", "PaymentFailed", "PaymentProcessed", "PaymentRefunded", "RefundRequested",
      "StaleOrderSweepRequested",
    ])
    error_message = "The registry must hold exactly one schema per event contract (the 12 files of services/shared/schemas/events)."
  }

  assert {
    condition = length(fileset("../services/shared/schemas/events", "*.json")) == length(module.event_schemas.schema_names) && alltrue([
      for name, schema in module.event_schemas.schemas :
      schema.type == "JSONSchemaDraft4" && schema.registry_name == "orderflow-test-events" &&
      schema.content == file("../services/shared/schemas/events/${name}.json")
    ])
    error_message = "Each registry schema is the JSONSchemaDraft4 content of its contract file, in the registry orderflow-test-events; no file is left out."
  }

  assert {
    condition     = output.event_schema_registry_name == "orderflow-test-events"
    error_message = "The stack outputs its schema registry's name."
  }
}

# Positive assertions: every value below is the contract written out (literals), not recomputed from the module.
run "rules_match_the_contract_events" {
  command = apply

  assert {
    condition = { for rule, pattern in module.event_bus.event_patterns : rule => jsondecode(pattern) } == {
      "order-created"                = { source = ["order.service"], "detail-type" = ["Order Created"] }
      "order-cancellation-requested" = { source = ["order.service"], "detail-type" = ["Order Cancellation Requested"] }
      "refund-requested"             = { source = ["orderflow.operator"], "detail-type" = ["Refund Requested"] }
      "stale-order-sweep"            = { source = ["orderflow.scheduler"], "detail-type" = ["Stale Order Sweep Requested"] }
      "inventory-restocked"          = { source = ["inventory.admin"], "detail-type" = ["Inventory Restocked"] }
    }
    error_message = "Each rule must match exactly its contract event (source and detail-type); no other rule may exist."
  }

  assert {
    condition = alltrue([
      for rule, target in module.event_bus.targets :
      target.maximum_retry_attempts == 8 && target.maximum_event_age_in_seconds == 3600
    ]) && length(module.event_bus.targets) == 5
    error_message = "Every rule target retries 8 times for up to 3600 s (event_retry_* defaults) before its DLQ."
  }

  assert {
    condition = alltrue([
      for rule, target in module.event_bus.targets :
      target.dead_letter_arn == module.event_bus.dlq_arns[rule] && module.event_bus.dlq_names[rule] == "orderflow-test-${rule}-dlq"
    ])
    error_message = "Every rule target sends undeliverable events to its own DLQ, orderflow-test-<rule>-dlq."
  }

  assert {
    condition = alltrue([
      for rule, target in module.event_bus.targets : target.role_arn == module.event_bus.start_workflows_role_arn
    ])
    error_message = "Every rule targets a workflow and starts executions with the start-workflows role."
  }

  assert {
    condition = (
      module.scheduler.target.arn == module.event_bus.bus_arn &&
      module.scheduler.target.source == "orderflow.scheduler" &&
      module.scheduler.target.detail_type == "Stale Order Sweep Requested" &&
      module.scheduler.target.maximum_retry_attempts == 5 &&
      module.scheduler.target.dead_letter_arn == module.scheduler.dlq_arn &&
      module.scheduler.dlq_name == "orderflow-test-stale-order-sweep-schedule-dlq"
    )
    error_message = "The sweep schedule puts orderflow.scheduler / Stale Order Sweep Requested on the bus, retries 5 times, then its DLQ."
  }
}

run "alarms_watch_what_they_name" {
  command = apply

  assert {
    condition = toset(keys(module.monitoring.alarms)) == toset(concat(
      [for s in ["order", "payment", "inventory", "notification"] : "orderflow-test-${s}-errors"],
      [for wf in ["order-processing", "payment-processing", "inventory-management"] : "orderflow-test-${wf}-executions-failed"],
      [for q in [
        "lambda-order", "lambda-payment", "lambda-inventory", "lambda-notification", "scheduler-stale-order-sweep",
        "events-order-created", "events-order-cancellation-requested", "events-refund-requested",
        "events-stale-order-sweep", "events-inventory-restocked",
      ] : "orderflow-test-${q}-dlq-messages"],
      ["orderflow-test-api-5xx"],
    ))
    error_message = "One alarm per function, per state machine, per DLQ, and one for API 5xx: no more, no less."
  }

  assert {
    condition = alltrue([
      for s in ["order", "payment", "inventory", "notification"] : {
        namespace = module.monitoring.alarms["orderflow-test-${s}-errors"].namespace
        metric    = module.monitoring.alarms["orderflow-test-${s}-errors"].metric_name
        statistic = module.monitoring.alarms["orderflow-test-${s}-errors"].statistic
        threshold = module.monitoring.alarms["orderflow-test-${s}-errors"].threshold
        operator  = module.monitoring.alarms["orderflow-test-${s}-errors"].comparison_operator
        dims      = module.monitoring.alarms["orderflow-test-${s}-errors"].dimensions
        } == {
        namespace = "AWS/Lambda", metric = "Errors", statistic = "Sum", threshold = 1,
        operator  = "GreaterThanOrEqualToThreshold", dims = tomap({ FunctionName = "orderflow-test-${s}" })
      }
    ])
    error_message = "A function's alarm fires on one or more AWS/Lambda Errors (Sum) of that function."
  }

  assert {
    condition = alltrue([
      for wf in ["order-processing", "payment-processing", "inventory-management"] : {
        namespace = module.monitoring.alarms["orderflow-test-${wf}-executions-failed"].namespace
        metric    = module.monitoring.alarms["orderflow-test-${wf}-executions-failed"].metric_name
        statistic = module.monitoring.alarms["orderflow-test-${wf}-executions-failed"].statistic
        threshold = module.monitoring.alarms["orderflow-test-${wf}-executions-failed"].threshold
        operator  = module.monitoring.alarms["orderflow-test-${wf}-executions-failed"].comparison_operator
        dims      = module.monitoring.alarms["orderflow-test-${wf}-executions-failed"].dimensions
        } == {
        namespace = "AWS/States", metric = "ExecutionsFailed", statistic = "Sum", threshold = 1,
        operator  = "GreaterThanOrEqualToThreshold",
        dims      = tomap({ StateMachineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-${wf}" })
      }
    ])
    error_message = "A state machine's alarm fires on one or more AWS/States ExecutionsFailed (Sum) of that state machine."
  }

  assert {
    condition = alltrue([
      for key, alarm in module.monitoring.alarms : (
        alarm.namespace == "AWS/SQS" && alarm.metric_name == "ApproximateNumberOfMessagesVisible" &&
        alarm.statistic == "Maximum" && alarm.threshold == 0 && alarm.comparison_operator == "GreaterThanThreshold" &&
        endswith(alarm.dimensions.QueueName, "-dlq")
      ) if endswith(key, "-dlq-messages")
    ])
    error_message = "A DLQ's alarm fires as soon as one message is visible (Maximum > 0) in that queue."
  }

  assert {
    condition = (
      module.monitoring.alarms["orderflow-test-lambda-payment-dlq-messages"].dimensions == tomap({ QueueName = "orderflow-test-payment-dlq" }) &&
      module.monitoring.alarms["orderflow-test-events-refund-requested-dlq-messages"].dimensions == tomap({ QueueName = "orderflow-test-refund-requested-dlq" }) &&
      module.monitoring.alarms["orderflow-test-scheduler-stale-order-sweep-dlq-messages"].dimensions == tomap({ QueueName = "orderflow-test-stale-order-sweep-schedule-dlq" })
    )
    error_message = "Each DLQ alarm watches the queue its name says."
  }

  assert {
    condition = {
      namespace = module.monitoring.alarms["orderflow-test-api-5xx"].namespace
      metric    = module.monitoring.alarms["orderflow-test-api-5xx"].metric_name
      statistic = module.monitoring.alarms["orderflow-test-api-5xx"].statistic
      threshold = module.monitoring.alarms["orderflow-test-api-5xx"].threshold
      operator  = module.monitoring.alarms["orderflow-test-api-5xx"].comparison_operator
      dims      = module.monitoring.alarms["orderflow-test-api-5xx"].dimensions
      } == {
      namespace = "AWS/ApiGateway", metric = "5xx", statistic = "Sum", threshold = 1,
      operator  = "GreaterThanOrEqualToThreshold", dims = tomap({ ApiId = "abc123", Stage = "$default" })
    }
    error_message = "The API alarm fires on one or more 5xx (Sum) of this API's $default stage."
  }

  assert {
    condition = alltrue([
      for key, alarm in module.monitoring.alarms :
      alarm.evaluation_periods == 1 && alarm.period == 300 && alarm.treat_missing_data == "notBreaching" &&
      toset(alarm.alarm_actions) == toset([module.monitoring.alarm_topic_arn])
    ])
    error_message = "Every alarm evaluates one 300 s period, treats missing data as not breaching and notifies the alarm topic."
  }
}

run "lambda_environments" {
  command = apply

  assert {
    condition = toset(keys(module.services)) == toset(["order", "payment", "inventory", "notification"]) && alltrue([
      for s, extra in {
        order = { STALE_ORDER_MINUTES = "30", OUTBOX_GRACE_SECONDS = "120" }
        payment = {
          PAYMENT_CUSTOMER_LIMIT = "5000.00", PAYMENT_DECLINE_CUSTOMERS = "customer-declined", PAYMENT_FAULT_RATE = "0",
          PAYMENT_FAULT_SEED     = "0", CIRCUIT_FAILURE_THRESHOLD = "5", CIRCUIT_COOLDOWN_SECONDS = "30"
        }
        inventory    = {}
        notification = {}
        } : module.services[s].environment == tomap(merge({
          ORDERS_TABLE                 = "orderflow-test-orders"
          INVENTORY_TABLE              = "orderflow-test-inventory"
          RESERVATIONS_TABLE           = "orderflow-test-reservations"
          PAYMENTS_TABLE               = "orderflow-test-payments"
          PAYMENT_GATEWAY_TABLE        = "orderflow-test-payment-gateway"
          OUTBOX_TABLE                 = "orderflow-test-outbox"
          IDEMPOTENCY_TABLE            = "orderflow-test-idempotency"
          CIRCUIT_BREAKER_TABLE        = "orderflow-test-circuit-breaker"
          EVENT_BUS_NAME               = "orderflow-test-bus"
          NOTIFICATIONS_BUCKET         = "orderflow-test-notifications-123456789012"
          POWERTOOLS_METRICS_NAMESPACE = "orderflow"
          POWERTOOLS_SERVICE_NAME      = s
          LOG_LEVEL                    = "INFO"
      }, extra))
    ])
    error_message = "Each function's environment must be exactly the contract's variables (docs/architecture.md, Lambda environment variables) with the defaults."
  }
}

# Issue 11: a trusted bus. Every principal may put only its own sources (and their detail-types); the operator-only
# events come from the operator role alone; every role's trust is limited to this account (and, where the service
# documents it, to the resource acting). Replication is on here so that its role is checked too.
run "bus_trust" {
  command = apply

  variables {
    event_replication = {
      enabled        = true
      target_bus_arn = "arn:aws:events:eu-central-1:123456789012:event-bus/orderflow-test-replica"
    }
  }

  override_resource {
    target = module.event_bus.aws_cloudwatch_event_rule.replication["replicate"]
    values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-replicate" }
  }

  # Every statement of every policy that grants PutEvents names the sources (and detail-types) it may put.
  assert {
    condition = alltrue(flatten([
      for doc in concat(
        [for m in values(module.services) : m.policy_statements],
        values(module.workflows.policy_statements),
        values(module.event_bus.policy_statements),
        [module.scheduler.policy_statements, module.operator.policy_statements],
        ) : [
        for s in doc : (
          length(flatten([for c in s.condition : c.values if c.test == "StringEquals" && c.variable == "events:source"])) > 0 &&
          alltrue([for v in flatten([for c in s.condition : c.values if c.test == "StringEquals" && c.variable == "events:source"]) : !strcontains(v, "*")])
        ) if anytrue([for a in s.actions : lower(a) == "events:putevents"])
      ]
    ]))
    error_message = "Every IAM statement that grants events:PutEvents must carry a StringEquals events:source condition naming its sources (no wildcard)."
  }

  # ... and there are exactly that many of them: 3 services, the scheduler, the operator's 2, the replication role.
  assert {
    condition = length(flatten([
      for doc in concat(
        [for m in values(module.services) : m.policy_statements],
        values(module.workflows.policy_statements),
        values(module.event_bus.policy_statements),
        [module.scheduler.policy_statements, module.operator.policy_statements],
        ) : [
        for s in doc : s if anytrue([for a in s.actions : lower(a) == "events:putevents"])
      ]
      ])) == 7 + length(flatten([
      for wf, declared in jsondecode(file("../workflow/integrations.json")).workflows : distinct([
        for name in try(declared.events, []) : jsondecode(file("../services/shared/schemas/events/${name}.json"))["x-amazon-events-source"]
      ])
    ]))
    error_message = "PutEvents is granted in exactly 7 statements (order, payment, inventory, the scheduler, the operator (one per source), the replication role) and one per source of each workflow's declared events (integrations.json `events`)."
  }

  # Each principal: exactly these sources, each with exactly these detail-types (one statement per source).
  assert {
    condition = {
      for principal, doc in merge(
        { for s, m in module.services : s => m.policy_statements },
        { scheduler = module.scheduler.policy_statements, operator = module.operator.policy_statements },
        ) : principal => {
        for s in doc : join(",", flatten([for c in s.condition : c.values if c.test == "StringEquals" && c.variable == "events:source"])) => sort(flatten([
          for c in s.condition : c.values if c.test == "StringEquals" && c.variable == "events:detail-type"
        ]))
        if anytrue([for a in s.actions : lower(a) == "events:putevents"])
      }
      } == {
      order        = { "order.service" = sort(["Order Created", "Order Cancellation Requested", "Order Completed"]) }
      payment      = { "payment.service" = sort(["Payment Processed", "Payment Failed", "Payment Refunded"]) }
      inventory    = { "inventory.service" = sort(["Inventory Reserved", "Inventory Unavailable", "Inventory Released"]) }
      notification = {}
      scheduler    = { "orderflow.scheduler" = sort(["Stale Order Sweep Requested"]) }
      operator     = { "orderflow.operator" = sort(["Refund Requested"]), "inventory.admin" = sort(["Inventory Restocked"]) }
    }
    error_message = "Each principal may put exactly its own source and detail-types: order/payment/inventory.service, orderflow.scheduler (the sweep), the operator role orderflow.operator/Refund Requested and inventory.admin/Inventory Restocked; the notification service nothing."
  }

  assert {
    condition = alltrue([
      for s in module.operator.policy_statements :
      s.effect == "Allow" && toset(s.actions) == toset(["events:PutEvents"]) &&
      toset(s.resources) == toset(["arn:aws:events:us-east-1:123456789012:event-bus/orderflow-test-bus"]) &&
      s.not_actions == null && s.not_resources == null && length(s.principals) == 0 && length(s.not_principals) == 0 &&
      toset([for c in s.condition : c.test]) == toset(["StringEquals"]) && toset([for c in s.condition : c.variable]) == toset(["events:detail-type", "events:source"])
    ]) && length(module.operator.policy_statements) == 2
    error_message = "The operator role may do nothing but PutEvents of its two events on this bus."
  }

  assert {
    condition = (
      output.operator_role_arn == module.operator.role_arn && module.operator.role_name == "orderflow-test-operator" &&
      output.operator_event_sources == tolist(["inventory.admin", "orderflow.operator"])
    )
    error_message = "The stack outputs the operator role (orderflow-test-operator) and the sources only it may put (the e2e tooling assumes it for those)."
  }

  assert {
    condition = [for s in module.operator.trust_policy_statements : jsondecode(jsonencode({
      Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
      Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
      Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
      }))] == [{
      Sid          = "OperatorsOfThisAccount", Effect = "Allow", Action = ["sts:AssumeRole"], NotAction = null, Resource = null, NotResource = null
      Principal    = { AWS = ["arn:aws:iam::123456789012:root"] }
      NotPrincipal = []
      Condition    = { StringEquals = { "aws:PrincipalAccount" = ["123456789012"], "aws:PrincipalTag/orderflow-operator" = ["true"] } }
    }]
    error_message = "By default principals of this account that carry the tag orderflow-operator=true may assume the operator role, nobody else."
  }

  assert {
    condition = jsonencode(output.bus_publishers) == jsonencode(merge(
      {
        order     = { "order.service" = ["Order Created", "Order Cancellation Requested", "Order Completed"] }
        payment   = { "payment.service" = ["Payment Processed", "Payment Failed", "Payment Refunded"] }
        inventory = { "inventory.service" = ["Inventory Reserved", "Inventory Unavailable", "Inventory Released"] }
        scheduler = { "orderflow.scheduler" = ["Stale Order Sweep Requested"] }
        operator  = { "orderflow.operator" = ["Refund Requested"], "inventory.admin" = ["Inventory Restocked"] }
      },
      # each workflow that declares `events` (integrations.json; none today), as "workflow/<name>"
      {
        for wf, declared in jsondecode(file("../workflow/integrations.json")).workflows : "workflow/${wf}" => {
          for name in declared.events : jsondecode(file("../services/shared/schemas/events/${name}.json"))["x-amazon-events-source"] => jsondecode(file("../services/shared/schemas/events/${name}.json"))["x-amazon-events-detail-type"]...
        } if length(try(declared.events, [])) > 0
      },
    ))
    error_message = "bus_publishers must be the table of service_permissions.json (and the workflows' declared events): who may put which events."
  }

  assert {
    condition = (
      [for s in module.event_bus.policy_statements["replication"] : jsondecode(jsonencode({
        Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
        Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
        Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
        })).Condition] == [{ StringEquals = { "events:source" = [
        "inventory.admin", "inventory.service", "order.service", "orderflow.operator", "orderflow.scheduler", "payment.service",
      ] } }] &&
      jsondecode(module.event_bus.replication_event_patterns["replicate"]) == { source = [
        "inventory.admin", "inventory.service", "order.service", "orderflow.operator", "orderflow.scheduler", "payment.service",
      ] }
    )
    error_message = "Replication forwards, and its role may put on the replica, exactly the six trusted sources."
  }

  # Trust: every role a service assumes names this account (aws:SourceAccount), and the acting resource where the
  # service documents aws:SourceArn for it (Step Functions, EventBridge rules, Scheduler).
  assert {
    condition = alltrue(flatten([
      for doc in concat(
        [for m in values(module.services) : m.trust_policy_statements],
        values(module.workflows.trust_policy_statements),
        values(module.event_bus.trust_policy_statements),
        [module.scheduler.trust_policy_statements],
        ) : [
        for s in doc : length([
          for c in s.condition : c if c.test == "StringEquals" && c.variable == "aws:SourceAccount" && toset(c.values) == toset(["123456789012"])
        ]) == 1
      ]
    ])) && length(module.event_bus.trust_policy_statements) == 2
    error_message = "Every service role's trust policy must carry aws:SourceAccount = this account (confused-deputy guard)."
  }

  # The trust helper (modules/trust_policy) as each role uses it: one statement, exactly the role's service principal,
  # exactly its conditions, nothing else (no other principal, action or resource).
  assert {
    condition = alltrue([
      for s, m in module.services : [for s in m.trust_policy_statements : jsondecode(jsonencode({
        Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
        Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
        Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
        }))] == [{
        Sid          = null, Effect = "Allow", Action = ["sts:AssumeRole"], NotAction = null, Resource = null, NotResource = null
        Principal    = { Service = ["lambda.amazonaws.com"] }
        NotPrincipal = []
        Condition    = { StringEquals = { "aws:SourceAccount" = ["123456789012"] } }
      }]
    ])
    error_message = "A function's role trusts lambda.amazonaws.com acting for this account only."
  }

  assert {
    condition = alltrue([
      for wf in ["order-processing", "payment-processing", "inventory-management"] :
      [for s in module.workflows.trust_policy_statements[wf] : jsondecode(jsonencode({
        Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
        Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
        Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
        }))] == [{
        Sid          = null, Effect = "Allow", Action = ["sts:AssumeRole"], NotAction = null, Resource = null, NotResource = null
        Principal    = { Service = ["states.amazonaws.com"] }
        NotPrincipal = []
        Condition = {
          StringEquals = { "aws:SourceAccount" = ["123456789012"] }
          ArnLike = { "aws:SourceArn" = [
            "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-${wf}",
            "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-${wf}:*",
          ] }
        }
      }]
    ]) && length(module.workflows.trust_policy_statements) == 3
    error_message = "A state machine's role trusts Step Functions acting for that state machine (and its versions/aliases) of this account only."
  }

  assert {
    condition = [for s in module.event_bus.trust_policy_statements["start-workflows"] : jsondecode(jsonencode({
      Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
      Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
      Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
      }))] == [{
      Sid          = null, Effect = "Allow", Action = ["sts:AssumeRole"], NotAction = null, Resource = null, NotResource = null
      Principal    = { Service = ["events.amazonaws.com"] }
      NotPrincipal = []
      Condition = {
        StringEquals = { "aws:SourceAccount" = ["123456789012"] }
        ArnEquals = { "aws:SourceArn" = [
          for rule in ["inventory-restocked", "order-cancellation-requested", "order-created", "refund-requested", "stale-order-sweep"] :
          "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-${rule}"
        ] }
      }
    }]
    error_message = "The start-workflows role trusts EventBridge acting for exactly the five rules that start a workflow."
  }

  assert {
    condition = [for s in module.event_bus.trust_policy_statements["replication"] : jsondecode(jsonencode({
      Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
      Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
      Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
      }))] == [{
      Sid          = null, Effect = "Allow", Action = ["sts:AssumeRole"], NotAction = null, Resource = null, NotResource = null
      Principal    = { Service = ["events.amazonaws.com"] }
      NotPrincipal = []
      Condition = {
        StringEquals = { "aws:SourceAccount" = ["123456789012"] }
        ArnEquals    = { "aws:SourceArn" = ["arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-replicate"] }
      }
    }]
    error_message = "The replication role trusts EventBridge acting for the replication rule only."
  }

  assert {
    condition = [for s in module.scheduler.trust_policy_statements : jsondecode(jsonencode({
      Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
      Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
      Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
      }))] == [{
      Sid          = null, Effect = "Allow", Action = ["sts:AssumeRole"], NotAction = null, Resource = null, NotResource = null
      Principal    = { Service = ["scheduler.amazonaws.com"] }
      NotPrincipal = []
      Condition = {
        StringEquals = {
          "aws:SourceAccount" = ["123456789012"]
          "aws:SourceArn"     = ["arn:aws:scheduler:us-east-1:123456789012:schedule-group/default"]
        }
      }
    }] && module.scheduler.schedule_group == "default"
    error_message = "The scheduler role trusts EventBridge Scheduler acting for this account's schedule group (the sweep's) only."
  }

  # The operator's policy is held to the stack-wide rules too.
  assert {
    condition = alltrue([
      for s in module.operator.policy_statements :
      !anytrue([for a in s.actions : strcontains(a, "*")]) && !contains(s.resources, "*")
    ])
    error_message = "The operator role has no wildcard action or resource."
  }
}

run "operator_principals_and_tag_are_configurable" {
  command = apply

  variables {
    operator_principal_arns = ["arn:aws:iam::123456789012:role/ops"]
    operator_principal_tag  = null
  }

  assert {
    condition = [for s in module.operator.trust_policy_statements : jsondecode(jsonencode({
      Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
      Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
      Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
      }))] == [{
      Sid          = "OperatorsOfThisAccount", Effect = "Allow", Action = ["sts:AssumeRole"], NotAction = null, Resource = null, NotResource = null
      Principal    = { AWS = ["arn:aws:iam::123456789012:role/ops"] }
      NotPrincipal = []
      Condition    = { StringEquals = { "aws:PrincipalAccount" = ["123456789012"] } }
    }]
    error_message = "operator_principal_arns replaces the account root; without a tag the account condition stays."
  }
}

run "operator_principals_must_be_iam_arns" {
  command = plan

  variables {
    operator_principal_arns = ["*"]
  }

  expect_failures = [var.operator_principal_arns]
}
