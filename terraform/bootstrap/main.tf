# Run once per customer account, with local state: it creates the bucket and table every other root's
# backend uses. Afterwards `terraform init -migrate-state` can move this state into the bucket too.
terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.47"
    }
  }
}

variable "region" {
  type        = string
  description = "Region of the state bucket and lock table (the customer's primary region)."
}

variable "bucket_name" {
  type        = string
  description = "State bucket name, as written in the customer's backend.hcl files."
}

variable "lock_table_name" {
  type        = string
  description = "Lock table name, as written in the customer's backend.hcl files."
  default     = "gantry-terraform-locks"
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      ManagedBy = "terraform"
      Root      = "bootstrap"
    }
  }
}

module "state_backend" {
  source = "../modules/state_backend"

  bucket_name     = var.bucket_name
  lock_table_name = var.lock_table_name
}

output "backend" {
  description = "Values for backend.hcl."
  value = {
    bucket         = module.state_backend.bucket
    dynamodb_table = module.state_backend.lock_table
    kms_key_id     = module.state_backend.kms_key_arn
    region         = var.region
  }
}
