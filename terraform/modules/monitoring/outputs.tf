output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of the metric alarms (empty under emulator_compat)."
  value       = sort([for a in aws_cloudwatch_metric_alarm.this : a.alarm_name])
}

output "alarms" {
  description = "Each metric alarm as applied (metric, statistic, threshold, comparison, dimensions, actions), keyed by alarm name, for audits and tests."
  value = {
    for a in aws_cloudwatch_metric_alarm.this : a.alarm_name => {
      namespace           = a.namespace
      metric_name         = a.metric_name
      statistic           = a.statistic
      dimensions          = a.dimensions
      threshold           = a.threshold
      comparison_operator = a.comparison_operator
      evaluation_periods  = a.evaluation_periods
      period              = a.period
      treat_missing_data  = a.treat_missing_data
      alarm_actions       = a.alarm_actions
    }
  }
}
