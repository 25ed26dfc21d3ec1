# Local MiniStack target. The deploy script adds build/local/inputs.tfvars.json (manifest, repo root, rendered
# workflows dir, aws_endpoint_url = "http://127.0.0.1:<port>").
project = "orderflow"
env     = "local"
region  = "us-east-1"

# The ONLY place emulator workarounds are switched on (see terraform/modules/emulator_compat).
emulator_compat = true

log_level                   = "DEBUG"
log_retention_days          = 14
workflow_log_retention_days = 14

# STANDARD or EXPRESS: the order-processing state machine's type (docs/architecture.md, "Standard or Express").
order_workflow_type = "STANDARD"

archive_retention_days = 7

stale_order_minutes             = 30
stale_sweep_schedule_expression = "rate(5 minutes)"
stale_sweep_enabled             = true

alarm_email = null

lambda_timeout     = 30
lambda_memory_size = 256

event_retry_maximum_attempts          = 2
event_retry_maximum_event_age_seconds = 300

kms_deletion_window_days  = 7
table_deletion_protection = false
bucket_force_destroy      = true
