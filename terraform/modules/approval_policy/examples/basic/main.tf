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

module "approval_policy" {
  source = "../.."

  region     = "us-east-1"
  customer   = "example"
  kms_key_id = "alias/example-gantry-records"
  policies = {
    production = jsonencode({
      allowed_signers      = "alice@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEYEXAMPLEKEYEXAMPLEKEYEXAMPLEKE\n"
      max_age_hours        = 24
      separation_of_duties = true
    })
  }
}

output "parameter_names" {
  description = "Environment -> parameter name."
  value       = module.approval_policy.parameter_names
}
