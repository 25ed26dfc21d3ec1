project = "orderflow"
env     = "prod"
region  = "eu-west-1" # the one place of the env's region (backend, tasks and clients read it)

emulator_compat = false

log_level                   = "INFO"
log_retention_days          = 90
workflow_log_retention_days = 14

# STANDARD or EXPRESS: the order-processing state machine's type (docs/architecture.md, "Standard or Express").
order_workflow_type = "STANDARD"

archive_retention_days = 90

stale_order_minutes             = 30
stale_sweep_schedule_expression = "rate(5 minutes)"
stale_sweep_enabled             = true

# Set to the on-call distribution list (the subscription must be confirmed from the mailbox).
alarm_email = null

lambda_timeout     = 30
lambda_memory_size = 512
lambda_overrides = {
  order = { reserved_concurrency = 50 }
}

event_retry_maximum_attempts          = 24
event_retry_maximum_event_age_seconds = 86400

# Optional: replicate every event to a bus in a second region (create that bus first).
event_replication = {
  enabled = false
}

kms_deletion_window_days      = 30
table_deletion_protection     = true
user_pool_deletion_protection = true
bucket_force_destroy          = false
