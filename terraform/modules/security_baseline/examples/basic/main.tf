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

module "kms" {
  source = "../../../kms_key"

  alias              = "example-audit"
  description        = "Example audit trail"
  logs_enabled       = true
  service_principals = ["cloudtrail.amazonaws.com"]
}

module "security_baseline" {
  source = "../.."

  name                         = "example"
  kms_key_arn                  = module.kms.key_arn
  jenkins_agent_principal_arns = ["arn:aws:iam::123456789012:role/jenkins-agent"]
  jenkins_roles = {
    test = {
      ecr_repository_arns            = ["arn:aws:ecr:us-east-1:123456789012:repository/example/cart"]
      ecs_cluster_arns               = ["arn:aws:ecs:us-east-1:123456789012:cluster/example-test"]
      ecs_service_arns               = ["arn:aws:ecs:us-east-1:123456789012:service/example-test/cart"]
      task_definition_arns           = ["arn:aws:ecs:us-east-1:123456789012:task-definition/example-test-cart:*"]
      pass_role_arns                 = ["arn:aws:iam::123456789012:role/gantry/example/test/*"]
      codecommit_arns                = ["arn:aws:codecommit:us-east-1:123456789012:example-cart", "arn:aws:codecommit:eu-west-1:123456789012:example-cart"]
      sns_topic_arns                 = ["arn:aws:sns:us-east-1:123456789012:gantry-example-pipeline"]
      alarm_arns                     = ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:example-test-*"]
      records_parameter_arns         = ["arn:aws:ssm:us-east-1:123456789012:parameter/gantry/example/records/*"]
      approval_policy_parameter_arns = ["arn:aws:ssm:us-east-1:123456789012:parameter/gantry-approval-policy/example/*"]
      lease_table_arn                = "arn:aws:dynamodb:us-east-1:123456789012:table/gantry-terraform-locks"
      lease_key_prefix               = "gantry/example/"
    }
  }
  approval_admin_principal_arns  = ["arn:aws:iam::123456789012:role/security-team"]
  approval_policy_parameter_arns = ["arn:aws:ssm:us-east-1:123456789012:parameter/gantry-approval-policy/example/*"]
  force_destroy_trail_bucket     = true
}

output "jenkins_role_arns" {
  description = "Deploy role per environment."
  value       = module.security_baseline.jenkins_role_arns
}
