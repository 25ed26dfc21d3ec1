# Offline tests of single modules (mock AWS provider): resource-level settings the root tests cannot see.

mock_provider "aws" {
  source = "./tests/mocks"
}

# What the root passes the workflows module (its default, held equal to scripts/workflow_policies.py's EXPRESS budget
# by tests/unit/test_express_parking_budget.py); a module that does not declare it ignores it.
variables {
  express_parking_budget_seconds = 120
}

run "data_tables" {
  command = apply

  module {
    source = "./modules/data"
  }

  variables {
    name_prefix = "orderflow-test"
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = toset(keys(aws_dynamodb_table.this)) == toset([
      "orders", "inventory", "reservations", "payments", "payment-gateway", "outbox", "idempotency", "circuit-breaker",
    ])
    error_message = "The eight contract tables (services/shared/schemas/tables.json) must exist."
  }

  assert {
    condition = (
      aws_dynamodb_table.this["outbox"].name == "orderflow-test-outbox" &&
      aws_dynamodb_table.this["outbox"].hash_key == "id" && aws_dynamodb_table.this["outbox"].range_key == null &&
      [for a in aws_dynamodb_table.this["outbox"].attribute : [a.name, a.type]] == [["id", "S"]] &&
      length(aws_dynamodb_table.this["outbox"].global_secondary_index) == 0
    )
    error_message = "outbox: key id (S) HASH only, no index (the sweep Scans it)."
  }

  assert {
    condition = (
      aws_dynamodb_table.this["payment-gateway"].name == "orderflow-test-payment-gateway" &&
      aws_dynamodb_table.this["payment-gateway"].hash_key == "paymentId" && aws_dynamodb_table.this["payment-gateway"].range_key == null &&
      [for a in aws_dynamodb_table.this["payment-gateway"].attribute : [a.name, a.type]] == [["paymentId", "S"]]
    )
    error_message = "payment-gateway: key paymentId (S) HASH only."
  }

  assert {
    condition = alltrue([
      for k, t in aws_dynamodb_table.this : k == "idempotency" ? length(t.ttl) == 1 : length(t.ttl) == 0
    ])
    error_message = "Only idempotency has a TTL."
  }

  assert {
    condition     = alltrue([for t in aws_dynamodb_table.this : t.point_in_time_recovery[0].enabled])
    error_message = "Every table must have point-in-time recovery."
  }

  assert {
    condition = alltrue([
      for t in aws_dynamodb_table.this :
      t.server_side_encryption[0].enabled && t.server_side_encryption[0].kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    ])
    error_message = "Every table must be encrypted with the customer-managed key."
  }

  assert {
    condition     = alltrue([for t in aws_dynamodb_table.this : t.billing_mode == "PAY_PER_REQUEST"])
    error_message = "Every table must be on-demand."
  }

  assert {
    condition     = aws_dynamodb_table.this["orders"].hash_key == "orderId" && aws_dynamodb_table.this["orders"].range_key == "customerId"
    error_message = "orders: orderId HASH, customerId RANGE."
  }

  assert {
    condition = {
      for g in aws_dynamodb_table.this["orders"].global_secondary_index : g.name => [g.hash_key, g.range_key, g.projection_type]
      } == {
      "CustomerId-Index" = ["customerId", "createdAt", "ALL"]
      "Live-Index"       = ["liveShard", "updatedAt", "ALL"]
    }
    error_message = "orders needs GSIs CustomerId-Index (customerId/createdAt) and Live-Index (liveShard/updatedAt), projection ALL."
  }

  assert {
    condition     = aws_dynamodb_table.this["idempotency"].ttl[0].attribute_name == "expiration" && aws_dynamodb_table.this["idempotency"].ttl[0].enabled
    error_message = "idempotency needs TTL on `expiration`."
  }
}

run "notifications_bucket_is_private" {
  command = apply

  # Distinct documents (the mock answers one for all), so each resource is seen to take its own.
  override_data {
    target = data.aws_iam_policy_document.tls_only
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockTlsOnly\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  module {
    source = "./modules/notifications_bucket"
  }

  variables {
    bucket_name = "orderflow-test-notifications-123456789012"
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls &&
      aws_s3_bucket_public_access_block.this.block_public_policy &&
      aws_s3_bucket_public_access_block.this.ignore_public_acls &&
      aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "The bucket's public access block must be all true."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "The bucket must be versioned."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule[*].apply_server_side_encryption_by_default)).sse_algorithm == "aws:kms"
    error_message = "The bucket must default to SSE-KMS."
  }

  assert {
    condition = [for s in data.aws_iam_policy_document.tls_only.statement : jsondecode(jsonencode({
      Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
      Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
      Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
      }))] == [{
      Sid          = "DenyInsecureTransport", Effect = "Deny", Action = ["s3:*"], NotAction = null, NotResource = null
      Resource     = ["arn:aws:s3:::orderflow-test-notifications-123456789012", "arn:aws:s3:::orderflow-test-notifications-123456789012/*"]
      Principal    = { "*" = ["*"] }
      NotPrincipal = []
      Condition    = { Bool = { "aws:SecureTransport" = ["false"] } }
    }] && aws_s3_bucket_policy.tls_only.policy == data.aws_iam_policy_document.tls_only.json
    error_message = "The bucket policy must deny every request without TLS, on the bucket and its objects."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }
}

run "lambda_service" {
  command = apply

  # Distinct documents (the mock answers one for all), so each resource is seen to take its own.
  override_data {
    target = data.aws_iam_policy_document.this
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockFunctionPolicy\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  override_data {
    target = module.trust_policy.data.aws_iam_policy_document.this
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockFunctionTrust\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  module {
    source = "./modules/lambda_service"
  }

  variables {
    function_name      = "orderflow-test-order"
    handler            = "order.handler.lambda_handler"
    zip_path           = "./tests/fixtures/build/dist/order.zip"
    source_code_hash   = "b3JkZXItZmFrZS1oYXNoLWZvci10ZXJyYWZvcm0tdGVzdA=="
    kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    log_retention_days = 14
  }

  assert {
    condition     = aws_lambda_function.this.runtime == "python3.12" && aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "python3.12 with Active tracing."
  }

  assert {
    condition     = aws_lambda_function.this.dead_letter_config[0].target_arn == aws_sqs_queue.dlq.arn && aws_sqs_queue.dlq.sqs_managed_sse_enabled
    error_message = "The function needs its own encrypted SQS DLQ."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/orderflow-test-order" && aws_cloudwatch_log_group.this.retention_in_days == 14
    error_message = "Log group /aws/lambda/<name> with retention."
  }

  assert {
    condition = [for s in module.trust_policy.statements : jsondecode(jsonencode({
      Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
      Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
      Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
      }))] == [{
      Sid          = null, Effect = "Allow", Action = ["sts:AssumeRole"], NotAction = null, Resource = null, NotResource = null
      Principal    = { Service = ["lambda.amazonaws.com"] }
      NotPrincipal = []
      Condition    = { StringEquals = { "aws:SourceAccount" = ["123456789012"] } }
    }] && aws_iam_role.this.assume_role_policy == module.trust_policy.json
    error_message = "The function's role trusts lambda.amazonaws.com acting for this account only (the trust helper's document)."
  }

  assert {
    condition = [for s in data.aws_iam_policy_document.this.statement : s.sid] == ["WriteOwnLogGroup", "SendFailedAsyncInvocationsToDlq", "DecryptOwnEnvironment", "XRayTracing"] && alltrue([
      for s in data.aws_iam_policy_document.this.statement : s.effect == "Allow" && length(s.condition) == 0
    ]) && aws_iam_role_policy.this.policy == data.aws_iam_policy_document.this.json
    error_message = "Without service statements a function's role may only write its logs, use its DLQ, decrypt its environment and trace."
  }
}

run "workflows_module" {
  command = apply

  # Distinct documents (the mock answers one for all), so each resource is seen to take its own.
  override_data {
    target = data.aws_iam_policy_document.this["order-processing"]
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockOrderPolicy\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.this["payment-processing"]
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockPaymentPolicy\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.this["inventory-management"]
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockInventoryPolicy\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  override_data {
    target = module.trust_policy["order-processing"].data.aws_iam_policy_document.this
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockOrderTrust\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  override_data {
    target = module.trust_policy["payment-processing"].data.aws_iam_policy_document.this
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockPaymentTrust\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  override_data {
    target = module.trust_policy["inventory-management"].data.aws_iam_policy_document.this
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockInventoryTrust\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix     = "orderflow-test"
    workflow_names  = ["order-processing", "payment-processing", "inventory-management"]
    definitions_dir = "./tests/fixtures/workflows"
    invoked_services = {
      order-processing     = ["payment", "order", "inventory", "notification"]
      payment-processing   = ["order", "notification"]
      inventory-management = ["order"]
    }
    function_arns = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order", payment = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-payment", inventory = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-inventory", notification = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification" }
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = alltrue([for wf, lg in aws_cloudwatch_log_group.this : lg.name == "/aws/vendedlogs/states/orderflow-test-${wf}" && lg.retention_in_days == 14])
    error_message = "Each state machine logs to /aws/vendedlogs/states/<name>, kept 14 days."
  }

  assert {
    condition = alltrue([
      for sm in aws_sfn_state_machine.this :
      sm.type == "STANDARD" && sm.logging_configuration[0].level == "ALL" && sm.logging_configuration[0].include_execution_data && sm.tracing_configuration[0].enabled
    ])
    error_message = "STANDARD state machines with ALL logging, execution data and tracing."
  }

  assert {
    condition = alltrue([
      for wf, d in data.aws_iam_policy_document.this : [for s in d.statement : s.sid] == ["InvokeOwnFunctions", "XRayTracing", "LogDelivery"]
    ])
    error_message = "A workflow role has exactly: invoke its functions, X-Ray, log delivery (no DynamoDB, no PutEvents, no KMS: the state machines have no key of their own)."
  }

  # The grant is the declaration (here each workflow declares different services): the declared functions and their
  # versions/aliases, nothing else.
  assert {
    condition = {
      for wf, d in data.aws_iam_policy_document.this : wf => toset(one([for s in d.statement : s.resources if s.sid == "InvokeOwnFunctions"]))
      } == {
      order-processing = toset(flatten([
        for s in ["inventory", "notification", "order", "payment"] :
        ["arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-${s}", "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-${s}:*"]
      ]))
      payment-processing = toset(flatten([
        for s in ["notification", "order"] :
        ["arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-${s}", "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-${s}:*"]
      ]))
      inventory-management = toset(["arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order", "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order:*"])
    }
    error_message = "Each workflow's role may invoke exactly the functions its declaration names (and their versions/aliases)."
  }

  assert {
    condition = alltrue([
      for wf, p in aws_iam_role_policy.this : p.policy == data.aws_iam_policy_document.this[wf].json && aws_iam_role.this[wf].assume_role_policy == module.trust_policy[wf].json
    ])
    error_message = "Each workflow role's policy and trust are its own policy documents."
  }
}

# order_workflow_type = EXPRESS (root): the order workflow deploys as EXPRESS with ALL logging and execution data into
# its own log group (Express has no history API: its states are read from there), rendered with the Express parking
# budget (120 s); the other workflows stay STANDARD.
run "workflows_module_express" {
  command = apply

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix     = "orderflow-test"
    workflow_names  = ["order-processing", "payment-processing", "inventory-management"]
    definitions_dir = "./tests/fixtures/workflows-express"
    workflow_types  = { order-processing = "EXPRESS" }
    invoked_services = {
      order-processing     = ["payment", "order", "inventory", "notification"]
      payment-processing   = ["order", "notification"]
      inventory-management = ["order"]
    }
    function_arns = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order", payment = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-payment", inventory = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-inventory", notification = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification" }
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = output.workflow_types == { order-processing = "EXPRESS", payment-processing = "STANDARD", inventory-management = "STANDARD" }
    error_message = "Only the workflow named in workflow_types is EXPRESS; the others stay STANDARD."
  }

  assert {
    condition = (
      aws_sfn_state_machine.this["order-processing"].logging_configuration[0].level == "ALL"
      && aws_sfn_state_machine.this["order-processing"].logging_configuration[0].include_execution_data
      && aws_sfn_state_machine.this["order-processing"].logging_configuration[0].log_destination == "${aws_cloudwatch_log_group.this["order-processing"].arn}:*"
      && aws_cloudwatch_log_group.this["order-processing"].name == "/aws/vendedlogs/states/orderflow-test-order-processing"
    )
    error_message = "The EXPRESS order workflow logs ALL with execution data to its own /aws/vendedlogs/states log group."
  }

  assert {
    condition     = output.parking_budget_seconds == { order-processing = 120, payment-processing = null, inventory-management = null }
    error_message = "The EXPRESS order workflow parks for at most 120 s (within Express's 5 minutes); the other workflows do not park."
  }
}

run "workflows_module_standard_parking_budget" {
  command = plan

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix      = "orderflow-test"
    workflow_names   = ["order-processing"]
    definitions_dir  = "./tests/fixtures/workflows"
    invoked_services = { order-processing = ["payment", "order", "inventory", "notification"] }
    function_arns    = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order", payment = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-payment", inventory = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-inventory", notification = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification" }
    kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = aws_sfn_state_machine.this["order-processing"].type == "STANDARD" && output.parking_budget_seconds == { order-processing = 900 }
    error_message = "Without workflow_types the order workflow is STANDARD and parks for at most 900 s."
  }
}

# A definition rendered for STANDARD (900 s of parking) cannot deploy as EXPRESS: it would be cut off at 5 minutes.
run "workflows_module_refuses_express_with_the_standard_parking_budget" {
  command = plan

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix      = "orderflow-test"
    workflow_names   = ["order-processing"]
    definitions_dir  = "./tests/fixtures/workflows"
    workflow_types   = { order-processing = "EXPRESS" }
    invoked_services = { order-processing = ["payment", "order", "inventory", "notification"] }
    function_arns    = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order", payment = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-payment", inventory = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-inventory", notification = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification" }
    kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [aws_sfn_state_machine.this]
}

# Nor one that parks for longer than the EXPRESS budget of record (120 s, scripts/workflow_policies.py), even under
# Express's 300 s: the rest of the saga needs the time that is left (EXPRESS_SAGA_MARGIN_SECONDS).
run "workflows_module_refuses_express_parking_past_the_express_budget" {
  command = plan

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix      = "orderflow-test"
    workflow_names   = ["order-processing"]
    definitions_dir  = "./tests/fixtures/parking-240"
    workflow_types   = { order-processing = "EXPRESS" }
    invoked_services = { order-processing = ["order"] }
    function_arns    = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order" }
    kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [aws_sfn_state_machine.this]
}

run "workflows_module_refuses_an_unknown_type" {
  command = plan

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix      = "orderflow-test"
    workflow_names   = ["order-processing"]
    definitions_dir  = "./tests/fixtures/workflows"
    workflow_types   = { order-processing = "Express" }
    invoked_services = { order-processing = ["order"] }
    function_arns    = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order" }
    kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [var.workflow_types]
}

# The preconditions on the role policy refuse a declaration its role could not honour. (What a definition invokes is
# checked against the declaration by scripts/render.py: tests/workflow/test_render.py.)
run "workflows_module_refuses_an_undeclared_workflow" {
  command = plan

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix      = "orderflow-test"
    workflow_names   = ["order-processing", "payment-processing"]
    definitions_dir  = "./tests/fixtures/workflows"
    invoked_services = { order-processing = ["order"] }
    function_arns    = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order" }
    kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [aws_iam_role_policy.this]
}

run "workflows_module_refuses_a_service_that_is_not_the_stacks" {
  command = plan

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix      = "orderflow-test"
    workflow_names   = ["order-processing"]
    definitions_dir  = "./tests/fixtures/workflows"
    invoked_services = { order-processing = ["order", "shipping"] }
    function_arns    = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order" }
    kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [aws_iam_role_policy.this]
}

# A workflow that declares `events` (integrations.json; the root passes them as source -> detail-types) may put exactly
# those on the stack's bus: one PutEvents statement per source, with StringEquals on events:source (that source) and
# events:detail-type (exactly its detail-types); a workflow without events gets no PutEvents.
run "workflows_module_grants_the_declared_events" {
  command = apply

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix     = "orderflow-test"
    workflow_names  = ["order-processing", "payment-processing", "inventory-management"]
    definitions_dir = "./tests/fixtures/workflows"
    invoked_services = {
      order-processing     = ["order"]
      payment-processing   = ["order"]
      inventory-management = ["order"]
    }
    published_events = {
      order-processing     = { "order.service" = ["Order Completed"] }
      inventory-management = { "order.service" = ["Order Created", "Order Completed"], "inventory.service" = ["Inventory Released"] }
    }
    event_bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/orderflow-test-bus"
    function_arns = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order" }
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = {
      for wf, d in data.aws_iam_policy_document.this : wf => [
        for s in d.statement : jsondecode(jsonencode({
          sid        = s.sid, effect = s.effect, actions = s.actions, resources = s.resources, not_actions = s.not_actions, not_resources = s.not_resources,
          principals = s.principals, condition = { for c in s.condition : "${c.test} ${c.variable}" => c.values }
        })) if anytrue([for a in s.actions : lower(a) == "events:putevents"])
      ]
      } == {
      order-processing = [{
        sid       = "PutEventsOnBus", effect = "Allow", actions = ["events:PutEvents"], not_actions = null, not_resources = null, principals = []
        resources = ["arn:aws:events:us-east-1:123456789012:event-bus/orderflow-test-bus"]
        condition = { "StringEquals events:source" = ["order.service"], "StringEquals events:detail-type" = ["Order Completed"] }
      }]
      payment-processing = []
      inventory-management = [
        {
          sid       = "PutEventsOnBus1", effect = "Allow", actions = ["events:PutEvents"], not_actions = null, not_resources = null, principals = []
          resources = ["arn:aws:events:us-east-1:123456789012:event-bus/orderflow-test-bus"]
          condition = { "StringEquals events:source" = ["inventory.service"], "StringEquals events:detail-type" = ["Inventory Released"] }
        },
        {
          sid       = "PutEventsOnBus2", effect = "Allow", actions = ["events:PutEvents"], not_actions = null, not_resources = null, principals = []
          resources = ["arn:aws:events:us-east-1:123456789012:event-bus/orderflow-test-bus"]
          condition = { "StringEquals events:source" = ["order.service"], "StringEquals events:detail-type" = ["Order Completed", "Order Created"] }
        },
      ]
    }
    error_message = "A workflow's role may put exactly its declared events on the stack's bus: one PutEvents statement per source, StringEquals on events:source and on exactly that source's events:detail-type values; a workflow without events none."
  }

  assert {
    condition = alltrue(flatten([
      for wf, d in data.aws_iam_policy_document.this : [
        for s in d.statement : length(s.condition) == 2 if anytrue([for a in s.actions : lower(a) == "events:putevents"])
      ]
    ]))
    error_message = "Each workflow PutEvents statement has exactly its two conditions (events:source, events:detail-type)."
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.this["order-processing"].statement : s.sid] == ["InvokeOwnFunctions", "PutEventsOnBus", "XRayTracing", "LogDelivery"] && [for s in data.aws_iam_policy_document.this["payment-processing"].statement : s.sid] == ["InvokeOwnFunctions", "XRayTracing", "LogDelivery"]
    error_message = "Declared events add only their PutEvents statements (no table access, no KMS)."
  }

  assert {
    condition = jsonencode(output.published_events) == jsonencode({
      order-processing     = { "order.service" = ["Order Completed"] }
      payment-processing   = {}
      inventory-management = { "inventory.service" = ["Inventory Released"], "order.service" = ["Order Completed", "Order Created"] }
    })
    error_message = "published_events outputs what each workflow's role may put (detail-types sorted)."
  }
}

run "workflows_module_refuses_events_without_a_bus" {
  command = plan

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix      = "orderflow-test"
    workflow_names   = ["order-processing"]
    definitions_dir  = "./tests/fixtures/workflows"
    invoked_services = { order-processing = ["order"] }
    published_events = { order-processing = { "order.service" = ["Order Completed"] } }
    function_arns    = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order" }
    kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [aws_iam_role_policy.this]
}

run "workflows_module_refuses_a_wildcard_or_empty_event_grant" {
  command = plan

  module {
    source = "./modules/workflows"
  }

  variables {
    name_prefix      = "orderflow-test"
    workflow_names   = ["order-processing", "payment-processing"]
    definitions_dir  = "./tests/fixtures/workflows"
    invoked_services = { order-processing = ["order"], payment-processing = ["order"] }
    published_events = { order-processing = { "order.*" = ["Order Completed"] }, payment-processing = { "payment.service" = [] } }
    event_bus_arn    = "arn:aws:events:us-east-1:123456789012:event-bus/orderflow-test-bus"
    function_arns    = { order = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order" }
    kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [var.published_events]
}

run "event_bus_module" {
  command = apply

  # Distinct documents (the mock answers one for all), so each resource is seen to take its own.
  override_data {
    target = data.aws_iam_policy_document.dlq["order-created"]
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockOrderCreatedDlq\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.dlq["notifications"]
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockNotificationsDlq\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  override_resource {
    target = aws_cloudwatch_event_rule.this["order-created"]
    values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-order-created" }
  }

  override_resource {
    target = aws_cloudwatch_event_rule.this["notifications"]
    values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-notifications" }
  }

  module {
    source = "./modules/event_bus"
  }

  variables {
    name_prefix = "orderflow-test"
    rules = {
      order-created = {
        description   = "test"
        event_pattern = "{\"source\":[\"order.service\"]}"
        target_type   = "state_machine"
      }
      notifications = {
        description   = "test"
        event_pattern = "{\"source\":[\"payment.service\"]}"
        target_type   = "lambda"
      }
    }
    targets = {
      order-created = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-order-processing" }
      notifications = {
        arn           = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-notification"
        function_name = "orderflow-test-notification"
      }
    }
  }

  assert {
    condition = alltrue([
      for k, t in aws_cloudwatch_event_target.this :
      length(t.retry_policy) == 1 && t.dead_letter_config[0].arn == aws_sqs_queue.dlq[k].arn
    ])
    error_message = "Every target needs a retry policy and its own DLQ."
  }

  assert {
    condition = alltrue([
      for k, q in aws_sqs_queue.dlq :
      [for s in data.aws_iam_policy_document.dlq[k].statement : jsondecode(jsonencode({
        Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
        Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
        Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
        }))] == [{
        Sid          = "EventBridgeRuleSendsFailedEvents", Effect = "Allow", Action = ["sqs:SendMessage"], NotAction = null, NotResource = null
        Resource     = ["arn:aws:sqs:us-east-1:123456789012:orderflow-test-${k}-dlq"]
        Principal    = { Service = ["events.amazonaws.com"] }
        NotPrincipal = []
        Condition    = { ArnEquals = { "aws:SourceArn" = ["arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-${k}"] } }
      }] && q.policy == data.aws_iam_policy_document.dlq[k].json &&
      q.sqs_managed_sse_enabled
    ]) && length(aws_sqs_queue.dlq) == 2
    error_message = "Each DLQ is encrypted and accepts events.amazonaws.com from its own rule only."
  }

  assert {
    condition     = aws_lambda_permission.this["notifications"].source_arn == aws_cloudwatch_event_rule.this["notifications"].arn && aws_lambda_permission.this["notifications"].principal == "events.amazonaws.com"
    error_message = "The Lambda permission must be scoped to the rule ARN."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this["order-created"].role_arn == aws_iam_role.start_workflows[0].arn && aws_cloudwatch_event_target.this["notifications"].role_arn == null
    error_message = "State machine targets use the start-workflows role; Lambda targets use a resource policy."
  }

  assert {
    condition     = aws_cloudwatch_event_archive.this.event_source_arn == aws_cloudwatch_event_bus.this.arn && aws_cloudwatch_event_archive.this.event_pattern == null
    error_message = "The archive must keep every event of the bus."
  }

  assert {
    condition     = length(aws_cloudwatch_event_rule.replication) == 0 && length(aws_iam_role.replication) == 0
    error_message = "Cross-region replication is off by default."
  }
}

run "event_bus_replication" {
  command = apply

  # Distinct documents (the mock answers one for all), so each resource is seen to take its own.
  override_data {
    target = module.replication_trust_policy[0].data.aws_iam_policy_document.this
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"MockReplicationTrust\",\"Effect\":\"Deny\",\"Action\":\"none:None\",\"Resource\":\"*\"}]}" }
  }

  override_resource {
    target = aws_cloudwatch_event_rule.replication["replicate"]
    values = { arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-replicate" }
  }

  module {
    source = "./modules/event_bus"
  }

  variables {
    name_prefix = "orderflow-test"
    rules       = {}
    targets     = {}
    replication = {
      enabled        = true
      target_bus_arn = "arn:aws:events:eu-central-1:123456789012:event-bus/orderflow-test-replica"
    }
    replicated_sources = ["order.service", "orderflow.operator"]
  }

  assert {
    condition     = aws_cloudwatch_event_target.replication["replicate"].arn == "arn:aws:events:eu-central-1:123456789012:event-bus/orderflow-test-replica"
    error_message = "Replication targets the second-region bus."
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.replication[0].statement : s.resources] == [toset(["arn:aws:events:eu-central-1:123456789012:event-bus/orderflow-test-replica"])]
    error_message = "The replication role may put events on the replica bus only."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.replication[0].statement : jsondecode(jsonencode({
        Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
        Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
        Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
      })).Condition] == [{ StringEquals = { "events:source" = ["order.service", "orderflow.operator"] } }] &&
      jsondecode(aws_cloudwatch_event_rule.replication["replicate"].event_pattern) == { source = ["order.service", "orderflow.operator"] }
    )
    error_message = "Replication forwards exactly the trusted sources, and its role may put no other source on the replica."
  }

  assert {
    condition = [for s in module.replication_trust_policy[0].statements : jsondecode(jsonencode({
      Sid       = s.sid, Effect = s.effect, Action = s.actions, NotAction = s.not_actions, Resource = s.resources, NotResource = s.not_resources,
      Principal = { for p in s.principals : p.type => p.identifiers }, NotPrincipal = s.not_principals,
      Condition = { for test in distinct([for c in s.condition : c.test]) : test => { for c in s.condition : c.variable => c.values if c.test == test } },
      })).Condition] == [{
      StringEquals = { "aws:SourceAccount" = ["123456789012"] }
      ArnEquals    = { "aws:SourceArn" = ["arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-replicate"] }
    }] && aws_iam_role.replication[0].assume_role_policy == module.replication_trust_policy[0].json
    error_message = "Only this account's replication rule may assume the replication role."
  }
}

run "event_bus_replication_needs_the_trusted_sources" {
  command = plan

  module {
    source = "./modules/event_bus"
  }

  variables {
    name_prefix = "orderflow-test"
    rules       = {}
    targets     = {}
    replication = {
      enabled        = true
      target_bus_arn = "arn:aws:events:eu-central-1:123456789012:event-bus/orderflow-test-replica"
    }
  }

  expect_failures = [var.replicated_sources]
}

run "auth_module" {
  command = apply

  module {
    source = "./modules/auth"
  }

  variables {
    name_prefix = "orderflow-test"
  }

  assert {
    condition     = aws_cognito_user_pool.this.name == "orderflow-test-customers" && aws_cognito_user_pool_client.api.name == "orderflow-test-api"
    error_message = "Pool and client follow <project>-<env>-<thing>."
  }

  assert {
    condition     = aws_cognito_user_pool_client.api.generate_secret == false
    error_message = "The app client is public: no secret."
  }

  assert {
    condition = (
      aws_cognito_user_pool_client.api.id_token_validity == 60 && aws_cognito_user_pool_client.api.access_token_validity == 60 &&
      aws_cognito_user_pool_client.api.refresh_token_validity == 7 &&
      one(aws_cognito_user_pool_client.api.token_validity_units).id_token == "minutes" &&
      one(aws_cognito_user_pool_client.api.token_validity_units).refresh_token == "days"
    )
    error_message = "Tokens: ID/access 60 minutes, refresh 7 days by default."
  }

  assert {
    condition     = aws_cognito_user_pool_client.api.prevent_user_existence_errors == "ENABLED" && aws_cognito_user_pool_client.api.enable_token_revocation
    error_message = "Sign-in must not reveal which users exist, and refresh tokens must be revocable."
  }

  assert {
    condition = (
      one(aws_cognito_user_pool.this.admin_create_user_config).allow_admin_create_user_only &&
      one(aws_cognito_user_pool.this.username_configuration).case_sensitive == false
    )
    error_message = "Only operators create users (usernames are customer ids), and usernames are case-insensitive."
  }

  assert {
    condition = (
      one(aws_cognito_user_pool.this.password_policy).minimum_length >= 12 &&
      one(aws_cognito_user_pool.this.password_policy).require_symbols &&
      one(aws_cognito_user_pool.this.password_policy).require_numbers
    )
    error_message = "Passwords: at least 12 characters with digits and symbols."
  }

  assert {
    condition     = aws_cognito_user_pool.this.deletion_protection == "INACTIVE"
    error_message = "Deletion protection is off unless asked for (prod)."
  }

  assert {
    condition     = aws_cognito_user_group.admins.name == "admins" && output.issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"
    error_message = "The admins group exists; the issuer is the pool endpoint with https://."
  }
}

run "auth_module_validation" {
  command = plan

  module {
    source = "./modules/auth"
  }

  variables {
    name_prefix               = "orderflow-test"
    id_token_validity_minutes = 2
  }

  expect_failures = [var.id_token_validity_minutes]
}

run "api_module_routes" {
  command = apply

  module {
    source = "./modules/api"
  }

  variables {
    name_prefix   = "orderflow-test"
    function_name = "orderflow-test-order"
    function_arn  = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order"
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    jwt_issuer    = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"
    jwt_audience  = ["testappclient0000000000001"]
  }

  assert {
    condition     = length(aws_apigatewayv2_route.this) == 4
    error_message = "Four routes."
  }

  assert {
    condition = alltrue([
      for route in aws_apigatewayv2_route.this :
      route.authorization_type == "JWT" && route.authorizer_id == aws_apigatewayv2_authorizer.jwt.id
    ])
    error_message = "Every route must have authorization_type JWT with the authorizer."
  }

  assert {
    condition = (
      one(aws_apigatewayv2_authorizer.jwt.jwt_configuration).issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1" &&
      toset(one(aws_apigatewayv2_authorizer.jwt.jwt_configuration).audience) == toset(["testappclient0000000000001"])
    )
    error_message = "The authorizer's issuer is the pool's and its audience exactly the app client id."
  }

  assert {
    condition     = aws_lambda_permission.api.source_arn == "${aws_apigatewayv2_api.this.execution_arn}/*/*" && aws_lambda_permission.api.principal == "apigateway.amazonaws.com"
    error_message = "API Gateway may invoke the function only from this API."
  }
}

run "api_module_requires_audience" {
  command = plan

  module {
    source = "./modules/api"
  }

  variables {
    name_prefix   = "orderflow-test"
    function_name = "orderflow-test-order"
    function_arn  = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-order"
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    jwt_issuer    = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"
    jwt_audience  = []
  }

  expect_failures = [var.jwt_audience]
}
