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

# aws:PrincipalAccount: principals of this account only, whatever principal_arns names. The tag (a user/role tag or a
# session tag from the identity provider) marks who operates; aws:SourceAccount is a service principal's key and is
# absent when a person assumes a role, so this trust is not the service-role helper's (modules/trust_policy).
data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "OperatorsOfThisAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = local.principals
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalAccount"
      values   = [local.account_id]
    }

    dynamic "condition" {
      for_each = var.principal_tag == null ? [] : [var.principal_tag]
      content {
        test     = "StringEquals"
        variable = "aws:PrincipalTag/${condition.value.key}"
        values   = [condition.value.value]
      }
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.name_prefix}-operator"
  description          = "Operators put orderflow.operator / inventory.admin events on ${var.name_prefix}-bus through this role only"
  max_session_duration = 3600
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  tags                 = var.tags
}

# One statement per source: EventBridge authorises each PutEvents entry by events:source and events:detail-type, and
# both keys in one statement would also allow orderflow.operator / Inventory Restocked.
data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = sort(keys(var.events))
    content {
      sid       = "PutOperatorEvents${statement.key + 1}"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [var.event_bus_arn]

      condition {
        test     = "StringEquals"
        variable = "events:source"
        values   = [statement.value]
      }

      condition {
        test     = "StringEquals"
        variable = "events:detail-type"
        values   = var.events[statement.value]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name_prefix}-operator-put-events"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
