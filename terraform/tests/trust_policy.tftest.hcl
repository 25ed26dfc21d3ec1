# The trust helper (modules/trust_policy) rendered by the real AWS provider, offline: the exact JSON each kind of
# service role gets. (The other test files mock the provider, which cannot compute a policy document's JSON.)

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

run "lambda_trusts_its_service_for_this_account" {
  command = plan

  module {
    source = "./modules/trust_policy"
  }

  variables {
    service        = "lambda.amazonaws.com"
    source_account = "123456789012"
  }

  assert {
    condition = jsondecode(output.json) == {
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { Service = "lambda.amazonaws.com" }
        Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
      }]
    }
    error_message = "Without source ARNs the trust names the service principal and aws:SourceAccount, nothing else: ${output.json}"
  }
}

run "state_machine_trust_names_the_state_machine_and_its_versions" {
  command = plan

  module {
    source = "./modules/trust_policy"
  }

  variables {
    service         = "states.amazonaws.com"
    source_account  = "123456789012"
    source_arn_test = "ArnLike"
    source_arns = [
      "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-order-processing",
      "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-order-processing:*",
    ]
  }

  assert {
    condition = jsondecode(output.json) == {
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { Service = "states.amazonaws.com" }
        Condition = {
          StringEquals = { "aws:SourceAccount" = "123456789012" }
          ArnLike = { "aws:SourceArn" = [
            "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-order-processing",
            "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-test-order-processing:*",
          ] }
        }
      }]
    }
    error_message = "The Step Functions trust adds aws:SourceArn (ArnLike) for the state machine and its versions/aliases: ${output.json}"
  }
}

run "scheduler_trust_keeps_both_keys_under_string_equals" {
  command = plan

  module {
    source = "./modules/trust_policy"
  }

  variables {
    service         = "scheduler.amazonaws.com"
    source_account  = "123456789012"
    source_arn_test = "StringEquals"
    source_arns     = ["arn:aws:scheduler:us-east-1:123456789012:schedule-group/default"]
  }

  assert {
    condition = jsondecode(output.json) == {
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { Service = "scheduler.amazonaws.com" }
        Condition = { StringEquals = {
          "aws:SourceAccount" = "123456789012"
          "aws:SourceArn"     = "arn:aws:scheduler:us-east-1:123456789012:schedule-group/default"
        } }
      }]
    }
    error_message = "The scheduler trust requires both this account and the schedule group: ${output.json}"
  }
}

run "rule_trust_defaults_to_exact_arns" {
  command = plan

  module {
    source = "./modules/trust_policy"
  }

  variables {
    service        = "events.amazonaws.com"
    source_account = "123456789012"
    source_arns    = ["arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-replicate"]
  }

  assert {
    condition = jsondecode(output.json) == {
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { Service = "events.amazonaws.com" }
        Condition = {
          StringEquals = { "aws:SourceAccount" = "123456789012" }
          ArnEquals    = { "aws:SourceArn" = "arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/orderflow-test-replicate" }
        }
      }]
    }
    error_message = "Source ARNs are matched exactly (ArnEquals) unless a caller asks otherwise: ${output.json}"
  }
}

run "the_account_is_required_and_exact" {
  command = plan

  module {
    source = "./modules/trust_policy"
  }

  variables {
    service        = "lambda.amazonaws.com"
    source_account = "*"
  }

  expect_failures = [var.source_account]
}

run "only_service_principals" {
  command = plan

  module {
    source = "./modules/trust_policy"
  }

  variables {
    service        = "*"
    source_account = "123456789012"
  }

  expect_failures = [var.service]
}

run "no_wildcard_source_arn" {
  command = plan

  module {
    source = "./modules/trust_policy"
  }

  variables {
    service        = "events.amazonaws.com"
    source_account = "123456789012"
    source_arns    = ["*"]
  }

  expect_failures = [var.source_arns]
}

run "only_the_documented_operators" {
  command = plan

  module {
    source = "./modules/trust_policy"
  }

  variables {
    service         = "events.amazonaws.com"
    source_account  = "123456789012"
    source_arns     = ["arn:aws:events:us-east-1:123456789012:rule/orderflow-test-bus/*"]
    source_arn_test = "StringLike"
  }

  expect_failures = [var.source_arn_test]
}
