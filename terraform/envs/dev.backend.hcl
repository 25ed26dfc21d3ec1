# S3 backend of the dev environment, created by `invoke bootstrap-state --env dev`.
# The tasks fill in <ACCOUNT_ID> (the 12-digit id of the caller's account, from STS): bucket names are global, the
# account id keeps them unique. No region here: the tasks add the one of
# terraform/envs/dev.tfvars, so the state bucket, the lock table and the stack share it.
bucket         = "orderflow-dev-tfstate-<ACCOUNT_ID>"
key            = "orderflow/dev/terraform.tfstate"
dynamodb_table = "orderflow-dev-tflock"
encrypt        = true
