terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

module "kms" {
  source   = "../../../kms_key"
  for_each = { primary = "us-east-1", secondary = "eu-west-1" }

  region             = each.value
  alias              = "example-alarms"
  description        = "Example alarm topics"
  service_principals = ["sns.amazonaws.com", "cloudwatch.amazonaws.com"]
}

module "monitoring" {
  source = "../.."

  name         = "example-test"
  alarm_emails = ["oncall@example.com"]
  regions = {
    for role, region in { primary = "us-east-1", secondary = "eu-west-1" } : role => {
      region                      = region
      alb_arn_suffix              = "app/example-test-alb/0123456789abcdef"
      target_group_arn_suffix     = "targetgroup/exampl/0123456789abcdef"
      cluster_name                = "example-test"
      service_name                = "cart"
      autoscaling_group_name      = "example-test-node"
      kms_key_arn                 = module.kms[role].key_arn
    }
  }
}

output "dashboard_name" {
  description = "Dashboard covering both regions."
  value       = module.monitoring.dashboard_name
}
