# The EventBridge schema registry of the environment: one JSONSchemaDraft4 schema per event contract
# (services/shared/schemas/events/<name>.json), so a consumer or a client generator finds every event's shape,
# source, detail-type and version where AWS tooling looks (code bindings, the console's schema browser).

resource "aws_schemas_registry" "this" {
  count = var.enabled ? 1 : 0

  name        = "${var.name_prefix}-events"
  description = "orderflow event contracts of ${var.name_prefix} (one schema per detail-type)"
  tags        = var.tags
}

resource "aws_schemas_schema" "this" {
  for_each = var.enabled ? var.schemas : {}

  name          = each.key
  registry_name = aws_schemas_registry.this[0].name
  type          = "JSONSchemaDraft4"
  content       = each.value
  description   = "${jsondecode(each.value)["x-amazon-events-source"]} / ${jsondecode(each.value)["x-amazon-events-detail-type"]}, contract version ${jsondecode(each.value)["x-orderflow-version"]}"
  tags          = var.tags
}
