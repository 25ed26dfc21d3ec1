terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: dev/prod pass `-backend-config=terraform/envs/<env>.backend.hcl`; the local env gets a
  # git-ignored `local_backend_override.tf` (backend "local") written by the deploy script; `terraform test` runs
  # with `-backend=false`.
  backend "s3" {}
}
