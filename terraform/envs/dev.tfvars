project = "orderflow"
env     = "dev"
region  = "us-east-1" # the one place of the env's region (backend, tasks and clients read it)

emulator_compat = false

log_level                   = "DEBUG"
log_retention_days          = 14
workflow_log_retention_days = 14

# STANDARD or EXPRESS: the order-processing state machine's type (docs/architecture.md, "Standard or Express").
order_workflow_type = "STANDARD"

archive_retention_days = 14

stale_order_minutes             = 30
stale_sweep_schedule_expression = "rate(5 minutes)"
stale_sweep_enabled             = true

# Set to receive alarm e-mails (the subscription must be confirmed from the mailbox).
alarm_email = null

lambda_timeout     = 30
lambda_memory_size = 256

event_retry_maximum_attempts          = 8
event_retry_maximum_event_age_seconds = 3600

kms_deletion_window_days  = 7
table_deletion_protection = false
bucket_force_destroy      = true
