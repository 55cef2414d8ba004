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

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR of the existing VPC."
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Public subnets of the existing VPC."
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate for the HTTPS listener."
}

module "alb" {
  source = "../.."

  name                = "example"
  vpc_id              = var.vpc_id
  vpc_cidr_block      = var.vpc_cidr_block
  public_subnet_ids   = var.public_subnet_ids
  certificate_arn     = var.certificate_arn
  deletion_protection = false
  force_destroy_logs  = true
}

output "dns_name" {
  description = "DNS name of the example load balancer."
  value       = module.alb.dns_name
}
