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
  description = "Hosted zone of example.com."
}

module "region" {
  source = "../.."

  customer            = "example"
  environment         = "test"
  role                = "primary"
  service_name        = "cart"
  cidr_block          = "10.93.0.0/16"
  single_nat_gateway  = true
  domain              = "example.com"
  zone_id             = var.zone_id
  ami_ssm_parameter   = "/gantry/example/golden-ami/ecs-host/latest"
  deletion_protection = false
  # The repository's one source of the health-check numbers, and the cart's health path, as the environment
  # roots read them.
  health_check = merge(
    { for key in ["interval_seconds", "timeout_seconds", "healthy_threshold", "unhealthy_threshold"] : key => local.health.target_group[key] },
    { path = "/healthz" },
  )
}

locals {
  health = yamldecode(file("${path.module}/../../../../../config/health-checks.yaml"))
}

output "deploy_target" {
  description = "What the pipeline deploys to."
  value       = module.region.deploy_target
}
