mock_provider "aws" {
  # The mock provider fills computed attributes with random strings; policy arguments must parse as JSON.
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
}

variables {
  alias       = "acme-test"
  description = "test key"
}

run "rotation_on_and_alias_named" {
  command = plan

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_alias.this.name == "alias/acme-test"
    error_message = "Keys rotate and get the requested alias."
  }
}

run "aws_prefixed_alias_is_refused" {
  command = plan

  variables {
    alias = "aws/ebs"
  }

  expect_failures = [var.alias]
}

run "a_key_for_named_roles_only" {
  command = plan

  variables {
    account_usage = false
    service_users = {
      principal_arns = ["arn:aws:iam::123456789012:role/acme-prod-jenkins"]
      services       = ["ssm"]
    }
  }

  assert {
    condition     = !contains(one([for s in jsondecode(module.policy.json).Statement : s.Action if s.Sid == "AccountAdministration"]), "kms:Decrypt") && !contains(one([for s in jsondecode(module.policy.json).Statement : s.Action if s.Sid == "AccountAdministration"]), "kms:CreateGrant") && contains(one([for s in jsondecode(module.policy.json).Statement : s.Action if s.Sid == "AccountAdministration"]), "kms:PutKeyPolicy")
    error_message = "Without account_usage the account administers the key but cannot use it."
  }
}

run "service_users_need_a_service" {
  command = plan

  variables {
    service_users = {
      principal_arns = ["arn:aws:iam::123456789012:role/acme-prod-jenkins"]
      services       = []
    }
  }

  expect_failures = [var.service_users]
}
