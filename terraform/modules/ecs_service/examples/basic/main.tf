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

variable "cluster_name" {
  type        = string
  description = "Existing ECS cluster."
}

variable "capacity_provider_name" {
  type        = string
  description = "Capacity provider of the cluster."
}

variable "target_group_arn" {
  type        = string
  description = "Target group of the load balancer."
}

variable "alb_arn_suffix" {
  type        = string
  description = "ARN suffix of the load balancer."
}

variable "target_group_arn_suffix" {
  type        = string
  description = "ARN suffix of the target group."
}

module "kms" {
  source = "../../../kms_key"

  alias        = "example-service-logs"
  description  = "Example service logs"
  logs_enabled = true
}

module "ecs_service" {
  source = "../.."

  customer                = "example"
  environment             = "test"
  service_name            = "cart"
  cluster_name            = var.cluster_name
  capacity_provider_name  = var.capacity_provider_name
  target_group_arn        = var.target_group_arn
  alb_arn_suffix          = var.alb_arn_suffix
  target_group_arn_suffix = var.target_group_arn_suffix
  bootstrap_image         = "123456789012.dkr.ecr.us-east-1.amazonaws.com/example/cart:bootstrap"
  kms_key_arn             = module.kms.key_arn
}

output "task_family" {
  description = "Family the pipeline registers revisions in."
  value       = module.ecs_service.task_family
}
