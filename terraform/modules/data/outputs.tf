output "table_names" {
  description = "Table names keyed by logical table (the keys of services/shared/schemas/tables.json: orders, inventory, reservations, payments, payment-gateway, outbox, idempotency, circuit-breaker)."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

output "table_arns" {
  description = "Table ARNs keyed by logical table. Index ARNs are `<arn>/index/*`."
  value       = { for k, t in aws_dynamodb_table.this : k => t.arn }
}

output "keys" {
  description = "Key schema keyed by logical table: {hash_key, range_key (null when none)}, for audits and tests."
  value       = { for k, t in aws_dynamodb_table.this : k => { hash_key = t.hash_key, range_key = t.range_key } }
}
