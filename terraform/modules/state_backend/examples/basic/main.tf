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

module "state_backend" {
  source = "../.."

  bucket_name = "gantry-tfstate-example-123456789012"
}

output "bucket" {
  description = "State bucket."
  value       = module.state_backend.bucket
}
