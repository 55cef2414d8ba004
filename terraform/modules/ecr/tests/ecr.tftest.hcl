mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      region = "us-east-1"
    }
  }
}

variables {
  repositories    = ["acme/cart"]
  replica_regions = ["eu-west-1"]
  kms_key_arns = {
    "us-east-1" = "arn:aws:kms:us-east-1:123456789012:key/a"
    "eu-west-1" = "arn:aws:kms:eu-west-1:123456789012:key/b"
  }
}

run "same_repository_in_both_regions_and_one_replication_rule" {
  command = plan

  assert {
    condition     = toset(keys(aws_ecr_repository.this)) == toset(["us-east-1/acme/cart", "eu-west-1/acme/cart"])
    error_message = "The repository must exist in the source and the replica region."
  }

  assert {
    condition     = aws_ecr_repository.this["eu-west-1/acme/cart"].encryption_configuration[0].kms_key == "arn:aws:kms:eu-west-1:123456789012:key/b"
    error_message = "Each region's repository must use that region's key."
  }

  assert {
    condition     = length(aws_ecr_replication_configuration.this) == 1
    error_message = "The owner instance must manage replication."
  }
}

run "non_owner_leaves_replication_alone" {
  command = plan

  variables {
    manage_replication = false
  }

  assert {
    condition     = length(aws_ecr_replication_configuration.this) == 0
    error_message = "Only the owner may write the registry's replication configuration."
  }
}

run "missing_region_key_is_refused" {
  command = plan

  variables {
    kms_key_arns = { "us-east-1" = "arn:aws:kms:us-east-1:123456789012:key/a" }
  }

  expect_failures = [aws_ecr_repository.this]
}
