# S3 backend of the dev environment, created by `invoke bootstrap-state --env dev`.
# Replace <ACCOUNT_ID> with the 12-digit id of the target AWS account (`aws sts get-caller-identity`): bucket
# names are global, the account id keeps them unique.
bucket         = "orderflow-dev-tfstate-<ACCOUNT_ID>"
key            = "orderflow/dev/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "orderflow-dev-tflock"
encrypt        = true
