# CloudWatch dashboard of the whole flow, metric alarms (Lambda errors, failed executions, DLQ depth, API 5xx) and
# the KMS-encrypted SNS topic they notify.

locals {
  widget_width  = 12
  widget_height = 6

  widgets = [
    {
      title   = "Lambda invocations"
      metrics = [for s, fn in var.function_names : ["AWS/Lambda", "Invocations", "FunctionName", fn, { stat = "Sum", label = s }]]
    },
    {
      title   = "Lambda errors"
      metrics = [for s, fn in var.function_names : ["AWS/Lambda", "Errors", "FunctionName", fn, { stat = "Sum", label = s }]]
    },
    {
      title   = "Lambda duration (p95, ms)"
      metrics = [for s, fn in var.function_names : ["AWS/Lambda", "Duration", "FunctionName", fn, { stat = "p95", label = s }]]
    },
    {
      title = "Workflow executions"
      metrics = flatten([
        for wf, arn in var.state_machine_arns : [
          for m in ["ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"] :
          ["AWS/States", m, "StateMachineArn", arn, { stat = "Sum", label = "${wf} ${m}" }]
        ]
      ])
    },
    {
      title = "API responses and latency"
      metrics = [
        ["AWS/ApiGateway", "4xx", "ApiId", var.api_id, "Stage", var.api_stage, { stat = "Sum", label = "4xx" }],
        ["AWS/ApiGateway", "5xx", "ApiId", var.api_id, "Stage", var.api_stage, { stat = "Sum", label = "5xx" }],
        ["AWS/ApiGateway", "Latency", "ApiId", var.api_id, "Stage", var.api_stage, { stat = "p95", label = "latency p95 (ms)", yAxis = "right" }],
      ]
    },
    {
      title   = "Dead-letter queues: messages visible"
      metrics = [for k, q in var.dlq_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q, { stat = "Maximum", label = k }]]
    },
  ]

  lambda_alarms = {
    for s, fn in var.function_names : "${s}-errors" => {
      description = "Lambda ${fn} reported errors"
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = fn }
      threshold   = var.lambda_errors_threshold
      comparison  = "GreaterThanOrEqualToThreshold"
    }
  }

  workflow_alarms = {
    for wf, arn in var.state_machine_arns : "${wf}-executions-failed" => {
      description = "State machine ${var.name_prefix}-${wf} had failed executions"
      namespace   = "AWS/States"
      metric      = "ExecutionsFailed"
      statistic   = "Sum"
      dimensions  = { StateMachineArn = arn }
      threshold   = 1
      comparison  = "GreaterThanOrEqualToThreshold"
    }
  }

  dlq_alarms = {
    for k, q in var.dlq_names : "${k}-dlq-messages" => {
      description = "Dead-letter queue ${q} holds messages"
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = q }
      threshold   = 0
      comparison  = "GreaterThanThreshold"
    }
  }

  api_alarms = {
    "api-5xx" = {
      description = "HTTP API ${var.name_prefix}-api returned 5xx responses"
      namespace   = "AWS/ApiGateway"
      metric      = "5xx"
      statistic   = "Sum"
      dimensions  = { ApiId = var.api_id, Stage = var.api_stage }
      threshold   = var.api_5xx_threshold
      comparison  = "GreaterThanOrEqualToThreshold"
    }
  }

  alarms = var.alarms_enabled ? merge(local.lambda_alarms, local.workflow_alarms, local.dlq_alarms, local.api_alarms) : {}
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({
    widgets = [
      for i, w in local.widgets : {
        type   = "metric"
        x      = (i % 2) * local.widget_width
        y      = floor(i / 2) * local.widget_height
        width  = local.widget_width
        height = local.widget_height
        properties = {
          title   = w.title
          region  = var.region
          view    = "timeSeries"
          stacked = false
          period  = 60
          metrics = w.metrics
        }
      }
    ]
  })
}
