locals {
  customer = jsondecode(file("${path.module}/../customer.json"))
  default_tags = {
    Customer    = local.customer.name
    Environment = var.environment
    ManagedBy   = "terraform"
    Repository  = "gantry"
  }
}

provider "aws" {
  alias  = "primary"
  region = local.customer.primary_region

  default_tags {
    tags = local.default_tags
  }
}

provider "aws" {
  alias  = "secondary"
  region = local.customer.secondary_region

  default_tags {
    tags = local.default_tags
  }
}
