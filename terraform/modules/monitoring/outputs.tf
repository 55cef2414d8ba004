output "topic_arns" {
  description = "Alarm topic ARN per role; the pipeline can publish deployment events to them too."
  value       = { for role, topic in aws_sns_topic.alarms : role => topic.arn }
}

output "alarm_names" {
  description = "Every alarm name, by `<role>-<kind>` key."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard covering every region."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
