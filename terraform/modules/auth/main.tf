# Customer identities for the order API (docs/auth.md): a Cognito user pool whose usernames are the customer ids, one
# public app client (no secret) whose ID tokens the API's JWT authorizer accepts, and the operators' group.

resource "aws_cognito_user_pool" "this" {
  name = "${var.name_prefix}-customers"

  # The username is the customer id (claim `cognito:username`). Only operators create users (`invoke customer`,
  # AdminCreateUser), so every username is checked against the id rule; there is no self sign-up. Case-insensitive
  # sign-in: "Alice" and "alice" cannot be two users.
  username_configuration {
    case_sensitive = false
  }

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  password_policy {
    minimum_length                   = var.password_minimum_length
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 1
  }

  # Users are created with MessageAction SUPPRESS and a password set by an operator: recovery goes through them.
  account_recovery_setting {
    recovery_mechanism {
      name     = "admin_only"
      priority = 1
    }
  }

  deletion_protection = var.deletion_protection ? "ACTIVE" : "INACTIVE"

  tags = var.tags
}

resource "aws_cognito_user_pool_client" "api" {
  name         = "${var.name_prefix}-api"
  user_pool_id = aws_cognito_user_pool.this.id

  # A public client (curl, a browser, the e2e suite): no secret, password sign-in and refresh only.
  generate_secret = false
  explicit_auth_flows = [
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
  ]
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true

  id_token_validity      = var.id_token_validity_minutes
  access_token_validity  = var.access_token_validity_minutes
  refresh_token_validity = var.refresh_token_validity_days
  token_validity_units {
    id_token      = "minutes"
    access_token  = "minutes"
    refresh_token = "days"
  }
}

resource "aws_cognito_user_group" "admins" {
  name         = var.admin_group_name
  user_pool_id = aws_cognito_user_pool.this.id
  description  = "Operators: may read, list and cancel any customer's orders (docs/auth.md)."
}
