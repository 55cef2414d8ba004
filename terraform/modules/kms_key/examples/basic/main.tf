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

module "key" {
  source = "../.."

  alias              = "example-logs"
  description        = "Example key for log groups and SNS"
  logs_enabled       = true
  service_principals = ["sns.amazonaws.com"]
}

output "key_arn" {
  description = "ARN of the example key."
  value       = module.key.key_arn
}
