# S3 backend of the prod environment, created by `invoke bootstrap-state --env prod`.
# Replace <ACCOUNT_ID> with the 12-digit id of the target AWS account (`aws sts get-caller-identity`): bucket
# names are global, the account id keeps them unique.
bucket         = "orderflow-prod-tfstate-<ACCOUNT_ID>"
key            = "orderflow/prod/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "orderflow-prod-tflock"
encrypt        = true
