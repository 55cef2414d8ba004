mock_provider "aws" {
  # The mock provider fills computed attributes with random strings; policy arguments must parse as JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_availability_zones" {
    defaults = {
      names = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "us-east-1"
    }
  }
}

variables {
  name        = "test"
  cidr_block  = "10.40.0.0/16"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
}

run "three_azs_with_disjoint_subnets" {
  command = plan

  assert {
    condition     = length(aws_subnet.public) == 3 && length(aws_subnet.private) == 3
    error_message = "Expected one public and one private subnet in each of 3 AZs."
  }

  assert {
    condition     = [for s in aws_subnet.public : s.cidr_block] == ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"]
    error_message = "Public subnets are not the first /20 blocks."
  }

  assert {
    condition     = [for s in aws_subnet.private : s.cidr_block] == ["10.40.128.0/20", "10.40.144.0/20", "10.40.160.0/20"]
    error_message = "Private subnets do not start half-way through the VPC range."
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 3
    error_message = "Production layout needs one NAT gateway per AZ."
  }

  assert {
    condition     = toset(keys(output.route_table_ids)) == toset(["public", "private-0", "private-1", "private-2"])
    error_message = "Route table keys must be known at plan time."
  }

  assert {
    condition     = toset(keys(aws_vpc_endpoint.interface)) == toset(["ecr.api", "ecr.dkr", "ssm", "ssmmessages", "ec2messages", "logs", "ecs", "ecs-agent", "ecs-telemetry"])
    error_message = "Interface endpoints for ECR, SSM and logs are missing."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_logs.kms_key_id == var.kms_key_arn
    error_message = "Flow logs must be KMS-encrypted."
  }
}

run "single_nat_gateway_saves_cost" {
  command = plan

  variables {
    single_nat_gateway = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_route.private_nat) == 3
    error_message = "One NAT gateway must serve every private route table."
  }
}

run "rejects_too_large_a_range" {
  command = plan

  variables {
    cidr_block = "10.0.0.0/12"
  }

  expect_failures = [var.cidr_block]
}
