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
  source = "../../../kms_key"

  alias        = "example-network"
  description  = "Example flow logs"
  logs_enabled = true
}

module "network" {
  source = "../.."

  name               = "example"
  cidr_block         = "10.90.0.0/16"
  single_nat_gateway = true
  kms_key_arn        = module.kms.key_arn
}

output "private_subnet_ids" {
  description = "Private subnets of the example VPC."
  value       = module.network.private_subnet_ids
}
