output "table_names" {
  description = "Table names keyed by logical table (orders, inventory, reservations, payments, idempotency, circuit-breaker)."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

output "table_arns" {
  description = "Table ARNs keyed by logical table. Index ARNs are `<arn>/index/*`."
  value       = { for k, t in aws_dynamodb_table.this : k => t.arn }
}
