# The trust policy of a role that an AWS service assumes, with the cross-service confused-deputy guard: the service
# may assume the role only when it acts for this account (aws:SourceAccount) and, where the service documents it,
# for the named resources (aws:SourceArn). Every service role of the stack takes its trust from here.

data "aws_iam_policy_document" "this" {
  statement {
    sid     = var.sid
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [var.service]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.source_account]
    }

    dynamic "condition" {
      for_each = length(var.source_arns) > 0 ? [var.source_arn_test] : []
      content {
        test     = condition.value
        variable = "aws:SourceArn"
        values   = var.source_arns
      }
    }
  }
}
