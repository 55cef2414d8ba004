mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  # The mock provider fills computed attributes with random strings; policy arguments must parse as JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }
}

variables {
  customer                = "acme"
  environment             = "prod"
  service_name            = "cart"
  cluster_name            = "acme-prod"
  capacity_provider_name  = "acme-prod-ec2"
  target_group_arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/acmepr/0123456789abcdef"
  alb_arn_suffix          = "app/acme-prod-alb/0123456789abcdef"
  target_group_arn_suffix = "targetgroup/acmepr/0123456789abcdef"
  bootstrap_image         = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme/cart:bootstrap"
  kms_key_arn             = "arn:aws:kms:eu-west-1:123456789012:key/k"
}

run "task_definition_comes_from_the_shared_template" {
  command = plan

  assert {
    condition     = aws_ecs_task_definition.bootstrap.family == "acme-prod-cart" && aws_ecs_task_definition.bootstrap.network_mode == "bridge"
    error_message = "Family and network mode must come from services/cart/task-definition.json.tpl."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.bootstrap.container_definitions)[0].image == var.bootstrap_image
    error_message = "The bootstrap revision must run the bootstrap image."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.bootstrap.container_definitions)[0].logConfiguration.options["awslogs-group"] == aws_cloudwatch_log_group.this.name
    error_message = "Containers must log to the module's encrypted log group."
  }

  assert {
    condition     = aws_iam_role.execution.path == "/gantry/acme/prod/"
    error_message = "Task roles live under the environment's IAM path (the deploy role may pass only those)."
  }

  assert {
    condition     = aws_appautoscaling_policy.requests.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].resource_label == "app/acme-prod-alb/0123456789abcdef/targetgroup/acmepr/0123456789abcdef"
    error_message = "Request-count scaling must name the load balancer and target group."
  }
}

run "a_protected_environment_tags_its_service_with_the_approval_policy" {
  command = plan

  variables {
    approval_policy_parameter = "/gantry-approval-policy/acme/production"
    migration_secret_arns     = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:gantry/acme-prod/aurora-master-AbCdEf"]
  }

  assert {
    condition     = aws_ecs_service.this.tags["gantry:protected"] == "true" && aws_ecs_service.this.tags["gantry:approval-policy"] == "/gantry-approval-policy/acme/production"
    error_message = "A protected environment's service must carry the protection tags gantry checks before any deploy."
  }

  assert {
    condition     = length(aws_iam_role.migration_execution) == 1 && aws_iam_role.migration_execution[0].path == "/gantry/acme/prod/"
    error_message = "The migration task gets its own execution role, under the environment's path."
  }
}

run "an_unprotected_environment_carries_no_protection_tags" {
  command = plan

  assert {
    condition     = !contains(keys(aws_ecs_service.this.tags), "gantry:protected") && length(aws_iam_role.migration_execution) == 0
    error_message = "Without approval_policy_parameter the service is not marked protected."
  }
}

run "a_malformed_policy_parameter_is_refused" {
  command = plan

  variables {
    approval_policy_parameter = "/somewhere/else"
  }

  expect_failures = [var.approval_policy_parameter]
}
