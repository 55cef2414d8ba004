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
  for_each = toset(["us-east-1", "eu-west-1"])

  region      = each.key
  alias       = "example-ecr"
  description = "Example images"
}

module "ecr" {
  source = "../.."

  repositories    = ["example/cart"]
  replica_regions = ["eu-west-1"]
  kms_key_arns    = { for region, key in module.kms : region => key.key_arn }
}

output "repository_urls" {
  description = "Repository URL per region."
  value       = module.ecr.repository_urls
}
