mock_provider "aws" {}

variables {
  name                  = "acme-prod"
  alarm_emails          = ["oncall@example.com"]
  alarm_https_endpoints = ["https://hooks.example.com/alarms"]
  regions = {
    for role, region in { primary = "us-east-1", secondary = "eu-west-1" } : role => {
      region                      = region
      alb_arn_suffix              = "app/acme-prod-alb/0123456789abcdef"
      target_group_arn_suffix     = "targetgroup/acmepr/0123456789abcdef"
      cluster_name                = "acme-prod"
      service_name                = "cart"
      autoscaling_group_name      = "acme-prod-node"
      kms_key_arn                 = "arn:aws:kms:${region}:123456789012:key/k"
    }
  }
}

run "same_alarms_in_both_regions" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 12
    error_message = "Six alarms per region are expected."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["secondary-ecs-memory"].region == "eu-west-1"
    error_message = "Secondary alarms must live in the secondary region."
  }

  assert {
    condition     = aws_sns_topic.alarms["secondary"].region == "eu-west-1" && aws_sns_topic.alarms["secondary"].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/k"
    error_message = "Each region needs its own encrypted topic."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.this) == 4
    error_message = "E-mail and HTTPS subscribers must be on both topics."
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets) == 6
    error_message = "The dashboard needs a row of three widgets per region."
  }
}

run "rejects_plain_http_webhooks" {
  command = plan

  variables {
    alarm_https_endpoints = ["http://hooks.example.com/alarms"]
  }

  expect_failures = [var.alarm_https_endpoints]
}
