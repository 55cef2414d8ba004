terraform {
  # 1.7 is the first release with mock providers for `terraform test`.
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: resources take a `region` argument, which the multi-region modules rely on.
      version = ">= 6.0, < 7.0"
    }
  }
}
