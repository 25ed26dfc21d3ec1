# The operator role: the only principal that may put the operator-only events (Refund Requested from
# orderflow.operator: refund + cancel any order; Inventory Restocked from inventory.admin: stock from nothing).
# People and tools assume it for those events only; its policy allows nothing else.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  # Default: the account root, which delegates to IAM (a caller also needs sts:AssumeRole on this role in its own
  # policy). Naming principals instead makes the trust policy itself the grant.
  principals = length(var.principal_arns) > 0 ? var.principal_arns : ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
}

resource "aws_iam_role" "this" {
  name                 = "${var.name_prefix}-operator"
  description          = "Operators put orderflow.operator / inventory.admin events on ${var.name_prefix}-bus through this role only"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "OperatorsOfThisAccount"
      Effect    = "Allow"
      Principal = { AWS = local.principals }
      Action    = "sts:AssumeRole"
      # aws:PrincipalAccount: principals of this account only, whatever principal_arns names. The tag (a user/role
      # tag or a session tag from the identity provider) marks who operates; aws:SourceAccount is a service
      # principal's key and is absent when a person assumes a role.
      Condition = {
        StringEquals = merge(
          { "aws:PrincipalAccount" = local.account_id },
          var.principal_tag == null ? {} : { "aws:PrincipalTag/${var.principal_tag.key}" = var.principal_tag.value },
        )
      }
    }]
  })
  tags = var.tags
}

# One statement per source: EventBridge authorises each PutEvents entry by events:source and events:detail-type, and
# both keys in one statement would also allow orderflow.operator / Inventory Restocked.
resource "aws_iam_role_policy" "this" {
  name = "${var.name_prefix}-operator-put-events"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      for i, source in sort(keys(var.events)) : {
        Sid       = "PutOperatorEvents${i + 1}"
        Effect    = "Allow"
        Action    = ["events:PutEvents"]
        Resource  = [var.event_bus_arn]
        Condition = { StringEquals = { "events:source" = [source], "events:detail-type" = var.events[source] } }
      }
    ]
  })
}
