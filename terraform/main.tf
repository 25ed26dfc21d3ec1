# Root module: composes the modules. Services are discovered from the build manifest; workflows are the contract's
# three rendered definitions. Only the per-service IAM needs and environment extras are keyed by service name.

data "aws_caller_identity" "current" {}

locals {
  name_prefix = "${var.project}-${var.env}"
  account_id  = data.aws_caller_identity.current.account_id

  manifest = jsondecode(file(var.build_manifest_path))
  services = local.manifest.services

  function_names = { for service in keys(local.services) : service => "${local.name_prefix}-${service}" }

  workflow_names = ["order-processing", "payment-processing", "inventory-management"]
  # What each workflow invokes and which table actions it does, declared once for the renderer (which refuses a
  # definition that does anything else) and for the state machines' roles (which may do exactly that).
  workflow_integrations = jsondecode(file("${path.module}/../workflow/integrations.json")).workflows

  tables    = module.data.table_names
  table_arn = module.data.table_arns
  key_arn   = module.kms.key_arn
  bus_arn   = module.event_bus.bus_arn

  # The event contracts, services/shared/schemas/events/<name>.json: every source and detail-type below is read
  # from them (the services, the registry and the tests read the same files), never written in Terraform.
  event_schema_dir = "${path.module}/../services/shared/schemas/events"
  event_schemas    = { for f in fileset(local.event_schema_dir, "*.json") : trimsuffix(f, ".json") => file("${local.event_schema_dir}/${f}") }
  events = { for name, content in local.event_schemas : name => {
    source      = jsondecode(content)["x-amazon-events-source"]
    detail_type = jsondecode(content)["x-amazon-events-detail-type"]
  } }
}

module "emulator_compat" {
  source  = "./modules/emulator_compat"
  enabled = var.emulator_compat
}

module "kms" {
  source = "./modules/kms"

  name_prefix             = local.name_prefix
  region                  = var.region
  deletion_window_in_days = var.kms_deletion_window_days
  tags                    = var.tags
}

module "data" {
  source = "./modules/data"

  name_prefix         = local.name_prefix
  kms_key_arn         = local.key_arn
  deletion_protection = var.table_deletion_protection
  tags                = var.tags
}

module "notifications_bucket" {
  source = "./modules/notifications_bucket"

  # Bucket names are global on AWS: the account id keeps `<project>-<env>-notifications` unique.
  bucket_name   = "${local.name_prefix}-notifications-${local.account_id}"
  kms_key_arn   = local.key_arn
  force_destroy = var.bucket_force_destroy
  tags          = var.tags
}

# --- Lambda services ---------------------------------------------------------------------------------------------------

locals {
  # What each service's code calls, as IAM actions on symbolic resources (service_permissions.json says why each is
  # there; tests/simulation/test_permissions.py checks it against the calls the code makes). A discovered service
  # without an entry gets no data access (only its own logs, DLQ and X-Ray).
  permissions         = jsondecode(file("${path.module}/service_permissions.json"))
  service_permissions = local.permissions.services
  permission_resources = merge(
    { for table, arn in local.table_arn : "table/${table}" => arn },
    { for table, arn in local.table_arn : "table/${table}/index/*" => "${arn}/index/*" },
    {
      bus        = local.bus_arn
      key        = local.key_arn
      bucket     = module.notifications_bucket.bucket_arn
      "bucket/*" = "${module.notifications_bucket.bucket_arn}/*"
    },
  )
  # A statement's `events` (contract names) as source -> detail-types, keyed "<service>/<sid>".
  statement_events = {
    for pair in flatten([
      for service, statements in local.service_permissions : [for s in statements : { key = "${service}/${s.sid}", events = try(s.events, []) }]
    ]) : pair.key => { for name in pair.events : local.events[name].source => local.events[name].detail_type... }
  }
  # A statement with `events` becomes one statement per source, conditioned on that source and its detail-types:
  # EventBridge authorises each entry of a PutEvents by events:source and events:detail-type, and one statement
  # naming two sources would allow every source x detail-type pair.
  service_policy_statements = {
    for service, statements in local.service_permissions : service => flatten([
      for s in statements : [
        for i, source in(length(local.statement_events["${service}/${s.sid}"]) > 0 ? sort(keys(local.statement_events["${service}/${s.sid}"])) : [null]) : {
          sid       = length(local.statement_events["${service}/${s.sid}"]) > 1 ? "${s.sid}${i + 1}" : s.sid
          actions   = s.actions
          resources = [for r in s.resources : local.permission_resources[r]]
          conditions = source == null ? [] : [
            { test = "StringEquals", variable = "events:source", values = [source] },
            { test = "StringEquals", variable = "events:detail-type", values = local.statement_events["${service}/${s.sid}"][source] },
          ]
        }
      ]
    ])
  }

  # The events each workflow declares it puts (workflow/integrations.json `events`, contract names) as source ->
  # detail-types: its role may put exactly these on the bus (modules/workflows, one statement per source).
  workflow_events = {
    for wf, declared in local.workflow_integrations : wf => {
      for name in try(declared.events, []) : local.events[name].source => local.events[name].detail_type...
    }
  }

  # Who may put which events on the bus (principal -> source -> detail-types): each service as its PutEvents
  # statements say, each workflow that declares `events` as "workflow/<name>", the scheduler and the operator role
  # from other_publishers. Every PutEvents grant is built from this (the workflows' from the same workflow_events).
  bus_publishers = merge(
    {
      for service, statements in local.service_permissions : service => merge([for s in statements : local.statement_events["${service}/${s.sid}"]]...)
      if length([for s in statements : s if can(s.events)]) > 0
    },
    { for wf, sources in local.workflow_events : "workflow/${wf}" => sources if length(sources) > 0 },
    { for principal, names in local.permissions.other_publishers : principal => {
      for name in names : local.events[name].source => local.events[name].detail_type...
    } },
  )
  # Every source a trusted principal may put (what the optional replication forwards).
  trusted_sources = sort(distinct(flatten([for principal, events in local.bus_publishers : keys(events)])))

  # Every table of services/shared/schemas/tables.json as `<TABLE>_TABLE` (orders -> ORDERS_TABLE, payment-gateway ->
  # PAYMENT_GATEWAY_TABLE; the same rule as scripts/tables.py env_var), common to every service.
  table_environment = { for table, name in local.tables : "${upper(replace(table, "-", "_"))}_TABLE" => name }

  common_environment = merge(local.table_environment, {
    EVENT_BUS_NAME               = module.event_bus.bus_name
    NOTIFICATIONS_BUCKET         = module.notifications_bucket.bucket_name
    POWERTOOLS_METRICS_NAMESPACE = var.project
    LOG_LEVEL                    = var.log_level
  })

  service_environment = {
    order = {
      STALE_ORDER_MINUTES  = tostring(var.stale_order_minutes)
      OUTBOX_GRACE_SECONDS = tostring(var.outbox_grace_seconds)
    }
    payment = {
      PAYMENT_CUSTOMER_LIMIT    = var.payment_settings.customer_limit
      PAYMENT_DECLINE_CUSTOMERS = var.payment_settings.decline_customers
      PAYMENT_FAULT_RATE        = tostring(var.payment_settings.fault_rate)
      PAYMENT_FAULT_SEED        = tostring(var.payment_settings.fault_seed)
      CIRCUIT_FAILURE_THRESHOLD = tostring(var.payment_settings.circuit_failure_threshold)
      CIRCUIT_COOLDOWN_SECONDS  = tostring(var.payment_settings.circuit_cooldown_seconds)
    }
  }
}

module "services" {
  source   = "./modules/lambda_service"
  for_each = local.services

  function_name    = local.function_names[each.key]
  handler          = each.value.handler
  zip_path         = "${var.repo_root}/${each.value.zip}"
  source_code_hash = each.value.source_code_hash
  runtime          = "python3.12"

  timeout              = coalesce(try(var.lambda_overrides[each.key].timeout, null), var.lambda_timeout)
  memory_size          = coalesce(try(var.lambda_overrides[each.key].memory_size, null), var.lambda_memory_size)
  reserved_concurrency = try(var.lambda_overrides[each.key].reserved_concurrency, null)
  # > 0: a published version behind the alias `live`, which every caller below then invokes
  provisioned_concurrency = lookup(var.provisioned_concurrency, each.key, 0)

  environment = merge(
    local.common_environment,
    { POWERTOOLS_SERVICE_NAME = each.key },
    lookup(local.service_environment, each.key, {}),
  )
  policy_statements  = lookup(local.service_policy_statements, each.key, [])
  log_retention_days = var.log_retention_days
  kms_key_arn        = local.key_arn
  tags               = merge(var.tags, { service = each.key })
}

# --- Workflows -----------------------------------------------------------------------------------------------------------

module "workflows" {
  source = "./modules/workflows"

  name_prefix        = local.name_prefix
  workflow_names     = local.workflow_names
  definitions_dir    = var.workflow_definitions_dir
  invoked_services   = { for wf, declared in local.workflow_integrations : wf => declared.invokes }
  function_arns      = { for s, m in module.services : s => m.function_arn }
  table_actions      = { for wf, declared in local.workflow_integrations : wf => try(declared.tables, {}) }
  table_arns         = local.table_arn
  published_events   = local.workflow_events
  event_bus_arn      = local.bus_arn
  kms_key_arn        = local.key_arn
  log_retention_days = var.workflow_log_retention_days
  workflow_types     = { "order-processing" = var.order_workflow_type }
  tracing_enabled    = module.emulator_compat.sfn_tracing_enabled
  tags               = var.tags

  # the tasks of a function with provisioned concurrency invoke its alias
  function_qualifiers = { for s, m in module.services : s => m.qualifier if m.qualifier != null }

  # the longest parking an EXPRESS order workflow may have (scripts/workflow_policies.py, through the deploy tasks)
  express_parking_budget_seconds = var.express_parking_budget_seconds
}

# --- Event bus and routing -----------------------------------------------------------------------------------------------

locals {
  # Which contract events each rule routes (the patterns are built from the contracts). Static: known before any
  # resource exists, so the rules and their DLQs are created in parallel with the functions and workflows.
  event_routes = {
    order-created                = { events = ["OrderCreated"], to = "order-processing workflow", target_type = "state_machine" }
    order-cancellation-requested = { events = ["OrderCancellationRequested"], to = "payment-processing workflow (compensation)", target_type = "state_machine" }
    refund-requested             = { events = ["RefundRequested"], to = "payment-processing workflow", target_type = "state_machine" }
    stale-order-sweep            = { events = ["StaleOrderSweepRequested"], to = "inventory-management workflow", target_type = "state_machine" }
    inventory-restocked          = { events = ["InventoryRestocked"], to = "inventory-management workflow (restock branch)", target_type = "state_machine" }
    # No rule targets the notification Lambda: the workflow that finalizes an order notifies its outcome once
    # (workflow/fragments/finalize.asl.json, NotifyOutcome); a bus-driven copy per event doubled that work (issue 13).
  }
  sweep_event = local.events["StaleOrderSweepRequested"]

  event_rules = merge(
    {
      for rule, route in local.event_routes : rule => {
        description = "${join(", ", [for e in route.events : local.events[e].detail_type])} -> ${route.to}"
        event_pattern = jsonencode({
          source      = distinct([for e in route.events : local.events[e].source])
          detail-type = [for e in route.events : local.events[e].detail_type]
        })
        target_type = route.target_type
      }
    },
    # Emulator gap (MiniStack 1.5.33, see modules/emulator_compat): the scheduler's event arrives as
    # aws.scheduler / "Scheduled Event"; rewrite it into the contract's sweep event for the same workflow.
    module.emulator_compat.scheduler_event_fallback ? {
      stale-order-sweep-compat = {
        description   = "EMULATOR ONLY: MiniStack scheduler event (aws.scheduler/Scheduled Event) -> sweep"
        event_pattern = jsonencode({ source = ["aws.scheduler"], detail-type = ["Scheduled Event"] })
        target_type   = "state_machine"
        input_transformer = {
          input_paths = { id = "$.id", time = "$.time", account = "$.account", region = "$.region" }
          input_template = join("", [
            "{\"version\":\"0\",\"id\":<id>,\"detail-type\":${jsonencode(local.sweep_event.detail_type)},",
            "\"source\":${jsonencode(local.sweep_event.source)},\"account\":<account>,\"time\":<time>,\"region\":<region>,",
            "\"resources\":[],\"detail\":{}}",
          ])
        }
      }
    } : {},
  )

  event_targets = merge(
    {
      order-created                = { arn = module.workflows.state_machine_arns["order-processing"] }
      order-cancellation-requested = { arn = module.workflows.state_machine_arns["payment-processing"] }
      refund-requested             = { arn = module.workflows.state_machine_arns["payment-processing"] }
      stale-order-sweep            = { arn = module.workflows.state_machine_arns["inventory-management"] }
      inventory-restocked          = { arn = module.workflows.state_machine_arns["inventory-management"] }
    },
    module.emulator_compat.scheduler_event_fallback ? {
      stale-order-sweep-compat = { arn = module.workflows.state_machine_arns["inventory-management"] }
    } : {},
  )
}

module "event_bus" {
  source = "./modules/event_bus"

  name_prefix                     = local.name_prefix
  archive_retention_days          = var.archive_retention_days
  rules                           = local.event_rules
  targets                         = local.event_targets
  retry_maximum_attempts          = var.event_retry_maximum_attempts
  retry_maximum_event_age_seconds = var.event_retry_maximum_event_age_seconds
  replication                     = var.event_replication
  replicated_sources              = local.trusted_sources
  tags                            = var.tags
}

# The event contracts in the EventBridge schema registry (what a consumer or a code generator reads).
module "event_schemas" {
  source = "./modules/event_schemas"

  name_prefix = local.name_prefix
  schemas     = local.event_schemas
  enabled     = module.emulator_compat.schema_registry_enabled
  tags        = var.tags
}

# --- Edge: customer identities, API and scheduler ------------------------------------------------------------------------

module "auth" {
  source = "./modules/auth"

  name_prefix         = local.name_prefix
  deletion_protection = var.user_pool_deletion_protection
  tags                = var.tags
}

module "api" {
  source = "./modules/api"

  name_prefix   = local.name_prefix
  function_name = module.services["order"].function_name
  function_arn  = module.services["order"].invoke_target_arn
  jwt_issuer    = module.auth.issuer
  jwt_audience  = [module.auth.user_pool_client_id]

  function_qualifier                = module.services["order"].qualifier
  authorizer_payload_format_version = module.emulator_compat.jwt_authorizer_payload_format_version
  throttling_burst_limit            = var.api_throttling_burst_limit
  throttling_rate_limit             = var.api_throttling_rate_limit
  log_retention_days                = var.log_retention_days
  kms_key_arn                       = local.key_arn
  aws_endpoint_url                  = var.aws_endpoint_url
  tags                              = var.tags
}

module "scheduler" {
  source = "./modules/scheduler"

  name_prefix         = local.name_prefix
  event_source        = one(keys(local.bus_publishers.scheduler))
  detail_type         = one(one(values(local.bus_publishers.scheduler)))
  schedule_expression = var.stale_sweep_schedule_expression
  enabled             = var.stale_sweep_enabled
  event_bus_arn       = local.bus_arn
  kms_key_arn         = local.key_arn
  tags                = var.tags
}

# Operators put Refund Requested / Inventory Restocked through this role only: no service role may put those sources.
module "operator" {
  source = "./modules/operator"

  name_prefix    = local.name_prefix
  event_bus_arn  = local.bus_arn
  events         = local.bus_publishers.operator
  principal_arns = var.operator_principal_arns
  principal_tag  = var.operator_principal_tag
  tags           = var.tags
}

# --- Monitoring ------------------------------------------------------------------------------------------------------------

locals {
  dlq_names = merge(
    { for s, m in module.services : "lambda-${s}" => m.dlq_name },
    { for k, q in module.event_bus.dlq_names : "events-${k}" => q },
    { "scheduler-stale-order-sweep" = module.scheduler.dlq_name },
  )
  dlq_urls = merge(
    { for s, m in module.services : "lambda-${s}" => m.dlq_url },
    { for k, q in module.event_bus.dlq_urls : "events-${k}" => q },
    { "scheduler-stale-order-sweep" = module.scheduler.dlq_url },
  )
  # Where each DLQ's messages were going, so `invoke dlq redrive` (scripts/dlq.py) delivers one again to exactly that
  # target: a function's failed async invocation goes back to the function; a rule's undeliverable event to the rule's
  # target (through the rule's input transformer); the schedule's failed put to the bus, with the schedule's source
  # and detail-type (its message is the event's detail); a replicated event to the replica bus.
  dlq_sources = merge(
    {
      for s, m in module.services : "lambda-${s}" => {
        kind              = "lambda"
        arn               = m.invoke_target_arn # the alias when the function has provisioned concurrency
        input_transformer = null
        event_source      = null
        detail_type       = null
      }
    },
    {
      for k, r in local.event_rules : "events-${k}" => {
        kind              = r.target_type
        arn               = local.event_targets[k].arn
        input_transformer = try(r.input_transformer, null)
        event_source      = null
        detail_type       = null
      }
    },
    var.event_replication.enabled ? {
      "events-replicate" = {
        kind              = "event_bus"
        arn               = var.event_replication.target_bus_arn
        input_transformer = null
        event_source      = null
        detail_type       = null
      }
    } : {},
    {
      "scheduler-stale-order-sweep" = {
        kind              = "event_bus"
        arn               = module.scheduler.target.arn
        input_transformer = null
        event_source      = module.scheduler.target.source
        detail_type       = module.scheduler.target.detail_type
      }
    },
  )
}

module "monitoring" {
  source = "./modules/monitoring"

  name_prefix        = local.name_prefix
  region             = var.region
  function_names     = { for s, m in module.services : s => m.function_name }
  state_machine_arns = module.workflows.state_machine_arns
  api_id             = module.api.api_id
  api_stage          = module.api.stage_name
  dlq_names          = local.dlq_names
  kms_key_arn        = local.key_arn
  alarms_enabled     = module.emulator_compat.metric_alarms_enabled
  alarm_email        = var.alarm_email
  tags               = var.tags
}
