# One Lambda service: function from the build manifest's zip, its own role and least-privilege inline policy,
# its log group (KMS, retention), X-Ray active tracing and an SQS dead-letter queue for async invocations.

data "aws_caller_identity" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.function_name}"
  provisioned    = var.provisioned_concurrency > 0

  module_statements = [
    {
      sid       = "WriteOwnLogGroup"
      actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
    },
    {
      sid       = "SendFailedAsyncInvocationsToDlq"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.dlq.arn]
    },
    {
      # The function's environment variables are encrypted with the environment's customer-managed key.
      sid       = "DecryptOwnEnvironment"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
    },
    {
      # X-Ray APIs support no resource-level permissions: Resource must be "*" (documented exception, guarded by
      # terraform/tests/root.tftest.hcl). Only the two upload actions: in Lambda the service takes the sampling
      # decision (the SDK makes no GetSamplingRules / GetSamplingTargets calls).
      sid       = "XRayTracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    },
  ]
}

# Confused-deputy guard: Lambda acting for this account only. No aws:SourceArn: Lambda's developer guide documents no
# source ARN for an execution role's trust (unlike Step Functions, EventBridge and Scheduler), so a condition on it
# could refuse Lambda itself; each function has its own role, which is the boundary.
module "trust_policy" {
  source = "../trust_policy"

  service        = "lambda.amazonaws.com"
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_iam_role" "this" {
  name               = var.function_name
  description        = "Execution role of the ${var.function_name} Lambda function"
  assume_role_policy = module.trust_policy.json
  tags               = var.tags
}

# The service's statements (e.g. PutEvents only for its own events:source and detail-types) and the module's own.
data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = concat(var.policy_statements, local.module_statements)
    content {
      sid       = replace(statement.value.sid, "/[^A-Za-z0-9]/", "")
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = try(statement.value.conditions, [])
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.function_name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment cost decision (log_retention_days in envs/<env>.tfvars); one year is not required for these application logs.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.function_name}-dlq"
  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The functions only call regional AWS APIs (DynamoDB, EventBridge, S3); no VPC resources to reach, and a VPC would add NAT cost and cold-start latency.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile; the zip's integrity is pinned by source_code_hash from the build manifest.
  function_name    = var.function_name
  description      = "orderflow service ${var.function_name}"
  role             = aws_iam_role.this.arn
  handler          = var.handler
  runtime          = var.runtime
  filename         = var.zip_path
  source_code_hash = var.source_code_hash
  timeout          = var.timeout
  memory_size      = var.memory_size
  kms_key_arn      = var.kms_key_arn

  reserved_concurrent_executions = var.reserved_concurrency
  # A version is published only for provisioned concurrency (it is configured on the alias of a published version);
  # without it the function stays unversioned, as before.
  publish = local.provisioned

  environment {
    variables = var.environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

# --- Provisioned concurrency (off by default) ----------------------------------------------------------------------------
# Only with provisioned_concurrency > 0: the alias follows the version published from each code or configuration change,
# and the provisioned environments are kept initialised on it. Every caller of the function (workflows, a DLQ redrive,
# API) then invokes the alias (output invoke_target_arn), or it would run on unprovisioned, cold $LATEST environments.

resource "aws_lambda_alias" "live" {
  count = local.provisioned ? 1 : 0

  name             = var.alias_name
  description      = "The version every caller invokes; ${var.provisioned_concurrency} provisioned environments"
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}

resource "aws_lambda_provisioned_concurrency_config" "live" {
  count = local.provisioned ? 1 : 0

  function_name                     = aws_lambda_function.this.function_name
  qualifier                         = aws_lambda_alias.live[0].name
  provisioned_concurrent_executions = var.provisioned_concurrency
}
