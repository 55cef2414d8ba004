# Integration root for tests/terraform/test_moto_apply.py: network + peering + ecr + ecs_cluster in two regions against
# a local moto server. The test copies it next to a copy of terraform/, hence the ../terraform sources.
terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.47"
    }
  }
}

variable "endpoint" {
  type        = string
  description = "URL of the moto server, e.g. http://127.0.0.1:26010."
}

variable "ami_ssm_parameter" {
  type        = string
  description = "Golden-AMI SSM parameter; the test writes it in both regions first, as the Packer build does."
}

locals {
  regions = { primary = "us-east-1", secondary = "eu-west-1" }
  cidrs   = { primary = "10.70.0.0/16", secondary = "10.71.0.0/16" }
}

provider "aws" {
  alias                       = "primary"
  region                      = local.regions.primary
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {
    autoscaling = var.endpoint
    ec2         = var.endpoint
    ecr         = var.endpoint
    ecs         = var.endpoint
    iam         = var.endpoint
    kms         = var.endpoint
    logs        = var.endpoint
    ssm         = var.endpoint
    sts         = var.endpoint
  }
}

provider "aws" {
  alias                       = "secondary"
  region                      = local.regions.secondary
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {
    autoscaling = var.endpoint
    ec2         = var.endpoint
    ecr         = var.endpoint
    ecs         = var.endpoint
    iam         = var.endpoint
    kms         = var.endpoint
    logs        = var.endpoint
    ssm         = var.endpoint
    sts         = var.endpoint
  }
}

module "kms_primary" {
  source    = "../terraform/modules/kms_key"
  providers = { aws = aws.primary }

  alias        = "moto-primary"
  description  = "moto test key"
  logs_enabled = true
}

module "kms_secondary" {
  source    = "../terraform/modules/kms_key"
  providers = { aws = aws.secondary }

  alias        = "moto-secondary"
  description  = "moto test key"
  logs_enabled = true
}

module "network_primary" {
  source    = "../terraform/modules/network"
  providers = { aws = aws.primary }

  name               = "moto-primary"
  cidr_block         = local.cidrs.primary
  single_nat_gateway = true
  kms_key_arn        = module.kms_primary.key_arn
}

module "network_secondary" {
  source    = "../terraform/modules/network"
  providers = { aws = aws.secondary }

  name               = "moto-secondary"
  cidr_block         = local.cidrs.secondary
  single_nat_gateway = true
  kms_key_arn        = module.kms_secondary.key_arn
}

# Both VPCs are created in this same apply: the peering module must not need them to exist at plan time.
module "peering" {
  source = "../terraform/modules/peering"
  providers = {
    aws      = aws.primary
    aws.peer = aws.secondary
  }

  name                      = "moto-test"
  requester_vpc_id          = module.network_primary.vpc_id
  requester_cidr_block      = local.cidrs.primary
  requester_route_table_ids = module.network_primary.route_table_ids
  peer_vpc_id               = module.network_secondary.vpc_id
  peer_cidr_block           = local.cidrs.secondary
  peer_route_table_ids      = module.network_secondary.route_table_ids
}

module "ecr" {
  source    = "../terraform/modules/ecr"
  providers = { aws = aws.primary }

  repositories    = ["moto/cart"]
  replica_regions = [local.regions.secondary]
  kms_key_arns = {
    (local.regions.primary)   = module.kms_primary.key_arn
    (local.regions.secondary) = module.kms_secondary.key_arn
  }
}

module "cluster_primary" {
  source    = "../terraform/modules/ecs_cluster"
  providers = { aws = aws.primary }

  name               = "moto-test"
  vpc_id             = module.network_primary.vpc_id
  private_subnet_ids = module.network_primary.private_subnet_ids
  ami_ssm_parameter  = var.ami_ssm_parameter
  min_size           = 1
  max_size           = 2
}

module "cluster_secondary" {
  source    = "../terraform/modules/ecs_cluster"
  providers = { aws = aws.secondary }

  name               = "moto-test"
  vpc_id             = module.network_secondary.vpc_id
  private_subnet_ids = module.network_secondary.private_subnet_ids
  ami_ssm_parameter  = var.ami_ssm_parameter
  min_size           = 1
  max_size           = 2
}

output "vpc_ids" {
  description = "VPC per role."
  value       = { primary = module.network_primary.vpc_id, secondary = module.network_secondary.vpc_id }
}

output "clusters" {
  description = "Cluster name per role."
  value       = { primary = module.cluster_primary.cluster_name, secondary = module.cluster_secondary.cluster_name }
}

output "repository_urls" {
  description = "Repository URL per region."
  value       = module.ecr.repository_urls
}
