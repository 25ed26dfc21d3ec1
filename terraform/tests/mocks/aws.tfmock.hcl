# Offline mock of the AWS provider for `terraform test`. The provider still validates ARN-typed arguments, so every
# resource whose ARN feeds another resource gets a well-formed mock ARN. Tests that need distinct ARNs per instance
# (state machines, functions) add override_resource blocks.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
  }
}

mock_resource "aws_cloudwatch_event_bus" {
  defaults = {
    arn = "arn:aws:events:us-east-1:123456789012:event-bus/orderflow-test-bus"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/mock"
  }
}

mock_resource "aws_cloudwatch_event_archive" {
  defaults = {
    arn = "arn:aws:events:us-east-1:123456789012:archive/orderflow-test-archive"
  }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:us-east-1:123456789012:mock-dlq"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/mock-dlq"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/mock"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:mock"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:mock/invocations"
  }
}

mock_resource "aws_sfn_state_machine" {
  defaults = {
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:mock"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:us-east-1:123456789012:orderflow-test-alarms"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::orderflow-test-notifications-123456789012"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mock"
  }
}

mock_resource "aws_apigatewayv2_api" {
  defaults = {
    id            = "abc123"
    execution_arn = "arn:aws:execute-api:us-east-1:123456789012:abc123"
    api_endpoint  = "https://abc123.execute-api.us-east-1.amazonaws.com"
  }
}

mock_resource "aws_apigatewayv2_stage" {
  defaults = {
    invoke_url    = "https://abc123.execute-api.us-east-1.amazonaws.com/"
    execution_arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/$default"
  }
}

mock_resource "aws_scheduler_schedule" {
  defaults = {
    arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/mock"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "us-east-1"
  }
}

mock_resource "aws_cognito_user_pool" {
  defaults = {
    id       = "us-east-1_TestPool1"
    arn      = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_TestPool1"
    endpoint = "cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"
  }
}

mock_resource "aws_cognito_user_pool_client" {
  defaults = {
    id = "testappclient0000000000001"
  }
}

mock_resource "aws_apigatewayv2_authorizer" {
  defaults = {
    id = "jwtauth1"
  }
}

# The provider validates policy JSON even under the mock, so every policy document answers this valid document, which
# allows nothing. The mock cannot compute a document's JSON from its statements: the tests read each document's
# statements (the modules' *_statements outputs), and tests/trust_policy.tftest.hcl renders real JSON offline.
mock_data "aws_iam_policy_document" {
  defaults = {
    json          = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    minified_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}
