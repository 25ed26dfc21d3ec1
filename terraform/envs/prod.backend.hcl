# S3 backend of the prod environment, created by `invoke bootstrap-state --env prod`.
# The tasks fill in <ACCOUNT_ID> (the 12-digit id of the caller's account, from STS): bucket names are global, the
# account id keeps them unique. No region here: the tasks add the one of
# terraform/envs/prod.tfvars, so the state bucket, the lock table and the stack share it.
bucket         = "orderflow-prod-tfstate-<ACCOUNT_ID>"
key            = "orderflow/prod/terraform.tfstate"
dynamodb_table = "orderflow-prod-tflock"
encrypt        = true
