# Both regions' providers are mocked. The mock provider fills computed attributes with random strings, so
# data sources whose values are parsed (policy JSON) or used in names (region, partition) get fixed values.
mock_provider "aws" {
  alias = "primary"

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "us-east-1"
    }
  }

  # RDS validates key and role arguments as ARNs: the mocked kms_key module's key needs an ARN-shaped value.
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/acme-prod-rds-monitoring"
    }
  }
}

mock_provider "aws" {
  alias = "secondary"

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }

  # RDS validates key and role arguments as ARNs: the mocked kms_key module's key needs an ARN-shaped value.
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/acme-prod-rds-monitoring"
    }
  }
}

variables {
  name                            = "acme-prod"
  primary_vpc_id                  = "vpc-0aaaaaaaaaaaaaaa1"
  primary_subnet_ids              = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2", "subnet-0aaaaaaaaaaaaaaa3"]
  primary_ecs_security_group_id   = "sg-0aaaaaaaaaaaaaaa1"
  secondary_vpc_id                = "vpc-0bbbbbbbbbbbbbbb1"
  secondary_subnet_ids            = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
  secondary_ecs_security_group_id = "sg-0bbbbbbbbbbbbbbb1"
  # Stands in for the caller's ephemeral aws_secretsmanager_random_password (mock providers cannot open one).
  master_password = "TestOnlyPassword0123456789abcdef"
  app_password    = "TestOnlyAppPassword0123456789ab"
}

# Identifiers are unknown until apply: this file applies against the mocks, with the real kms_key module inside
# (no override_module), and compares the wiring on the values the mock returns.
run "secondary_joined_and_keys_wired_after_apply" {
  command = apply

  assert {
    condition     = module.primary.joinable_global_cluster_id == aws_rds_global_cluster.this.id && module.secondary.joinable_global_cluster_id == aws_rds_global_cluster.this.id
    error_message = "Both regional clusters must be members of the global cluster."
  }

  assert {
    condition     = output.regions["us-east-1"].kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111" && output.regions["eu-west-1"].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222"
    error_message = "Each region's half must use the key created with its own region's provider."
  }

  assert {
    condition     = local.monitoring_role_arn == "arn:aws:iam::123456789012:role/acme-prod-rds-monitoring"
    error_message = "Both regions' instances must be given the one Enhanced Monitoring role."
  }

  assert {
    condition     = output.regions["eu-west-1"].secret_arn == module.secondary.secret_arn && output.regions["us-east-1"].cluster_arn == module.primary.cluster_arn && output.regions["us-east-1"].cluster_arn != output.regions["eu-west-1"].cluster_arn
    error_message = "The per-region output must map each region to its own secret and cluster."
  }
}
