terraform {
  # 1.11: write-only arguments (`master_password_wo`, `secret_string_wo`) for the ephemeral passwords.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: the write-only arguments above.
      version = ">= 6.0, < 7.0"
    }
  }
}
