output "bucket_name" {
  description = "Name of the notifications bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the notifications bucket (objects: `<arn>/*`)."
  value       = aws_s3_bucket.this.arn
}
