terraform {
  # 1.11: the master password is an ephemeral input variable (Terraform 1.10) that reaches RDS and Secrets
  # Manager only through write-only arguments (`master_password_wo`, `secret_string_wo`, Terraform 1.11), so it
  # is written to neither the plan nor the state. Mock providers for `terraform test` exist since 1.7.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: per-resource regions and the write-only arguments above.
      version = ">= 6.0, < 7.0"
      # The global database spans two regions: every resource names the provider of its region.
      configuration_aliases = [aws.primary, aws.secondary]
    }
  }
}
