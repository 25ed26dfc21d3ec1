output "registry_name" {
  description = "Name of the schema registry (null when not created)."
  value       = one(aws_schemas_registry.this[*].name)
}

output "schema_names" {
  description = "Names of the registry's schemas (one per event contract), sorted; [] when not created."
  value       = sort(keys(aws_schemas_schema.this))
}

output "schemas" {
  description = "Each schema's registry, type and content, by name, for audits and tests."
  value       = { for k, s in aws_schemas_schema.this : k => { registry_name = s.registry_name, type = s.type, content = s.content } }
}
