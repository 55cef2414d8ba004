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

variable "vpc_id" {
  type        = string
  description = "Existing VPC."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets of the existing VPC."
}

module "ecs_cluster" {
  source = "../.."

  name               = "example"
  vpc_id             = var.vpc_id
  private_subnet_ids = var.private_subnet_ids
  ami_ssm_parameter  = "/gantry/example/golden-ami/ecs-host/latest"
  min_size           = 1
  max_size           = 2
}

output "cluster_name" {
  description = "Name of the example cluster."
  value       = module.ecs_cluster.cluster_name
}
