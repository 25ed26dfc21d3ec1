locals {
  # A local emulator (MiniStack) is targeted when aws_endpoint_url is set; on AWS it is null and the provider uses
  # the normal credential chain.
  emulated = var.aws_endpoint_url != null
}

provider "aws" {
  region = var.region

  # The emulator's fixed dummy credentials, only when aws_endpoint_url targets it; on AWS these are null and the
  # normal credential chain (environment, profile, SSO, instance role) applies.
  access_key                  = local.emulated ? "test" : null
  secret_key                  = local.emulated ? "test" : null
  skip_credentials_validation = local.emulated
  skip_requesting_account_id  = local.emulated
  skip_metadata_api_check     = local.emulated ? "true" : null
  s3_use_path_style           = local.emulated

  # Every service this configuration calls; all point at the emulator when aws_endpoint_url is set.
  dynamic "endpoints" {
    for_each = local.emulated ? [var.aws_endpoint_url] : []
    content {
      apigatewayv2 = endpoints.value
      cloudwatch   = endpoints.value
      cognitoidp   = endpoints.value
      dynamodb     = endpoints.value
      events       = endpoints.value
      iam          = endpoints.value
      kms          = endpoints.value
      lambda       = endpoints.value
      logs         = endpoints.value
      s3           = endpoints.value
      scheduler    = endpoints.value
      sfn          = endpoints.value
      sns          = endpoints.value
      sqs          = endpoints.value
      sts          = endpoints.value
    }
  }

  default_tags {
    tags = {
      project    = var.project
      env        = var.env
      managed-by = "terraform"
    }
  }
}
