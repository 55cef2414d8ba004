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
  alias       = "example-source"
  description = "Example source repositories"
}

module "source_mirror" {
  source = "../.."

  repository_name  = "example-cart"
  primary_region   = "us-east-1"
  secondary_region = "eu-west-1"
  kms_key_arns     = { for region, key in module.kms : region => key.key_arn }
}

output "clone_urls_http" {
  description = "Clone URL per role."
  value       = module.source_mirror.clone_urls_http
}
