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

variable "zone_id" {
  type        = string
  description = "Existing hosted zone."
}

module "dns_failover" {
  source = "../.."

  zone_id     = var.zone_id
  record_name = "app.example.com"
  endpoints = {
    primary   = { alb_dns_name = "primary-123.us-east-1.elb.amazonaws.com", alb_zone_id = "Z35SXDOTRQ7X7K" }
    secondary = { alb_dns_name = "secondary-456.eu-west-1.elb.amazonaws.com", alb_zone_id = "Z32O12XQLNTSW2" }
  }
}

output "health_check_ids" {
  description = "Health check per role."
  value       = module.dns_failover.health_check_ids
}
