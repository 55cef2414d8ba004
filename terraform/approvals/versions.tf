terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.47"
    }
  }

  # One state per customer account, applied only by the approval-policy administrators:
  # -backend-config=../live/<customer>/approvals.backend.hcl
  backend "s3" {}
}
