data "aws_region" "current" {}

data "aws_partition" "current" {}

data "aws_ssm_parameter" "ami" {
  name = var.ami_ssm_parameter
}

data "aws_caller_identity" "current" {}

locals {
  # IAM names are global: the region keeps the two regions' roles apart.
  iam_name = "${var.name}-${data.aws_region.current.region}-ecs-node"
  # The ECS agent's own policy (container instance registration, ECR pulls, task logs). AmazonSSMManagedInstanceCore
  # is deliberately not attached: it grants ssm:GetParameter(s) on every parameter, so every node could read the
  # pipeline's records; the nodes get Session Manager's channel actions only (session_manager below).
  managed_policies = [
    "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
  ]
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  tags = var.tags

  setting {
    name  = "containerInsights"
    value = var.container_insights
  }
}

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name               = local.iam_name
  assume_role_policy = data.aws_iam_policy_document.node_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset(local.managed_policies)

  role       = aws_iam_role.node.name
  policy_arn = each.key
}

# Session Manager replaces SSH (no key pairs, no inbound port): what the SSM agent needs to register the instance
# and carry sessions, and nothing of Parameter Store, Run Command documents or inventory.
data "aws_iam_policy_document" "session_manager" {
  statement {
    sid       = "RegisterInstance"
    actions   = ["ssm:UpdateInstanceInformation"]
    resources = ["arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:instance/*"]
  }

  # The channel actions have no resource-level permissions; they carry sessions and open no data.
  statement {
    sid = "SessionChannels"
    actions = [
      "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "session_manager" {
  name   = "session-manager"
  role   = aws_iam_role.node.id
  policy = data.aws_iam_policy_document.session_manager.json
}

resource "aws_iam_instance_profile" "node" {
  name = local.iam_name
  role = aws_iam_role.node.name
  tags = var.tags
}

resource "aws_security_group" "node" {
  name_prefix = "${var.name}-node-"
  description = "ECS container instances: no inbound rule except from the load balancer (added by the caller)"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-node" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "node_https" {
  security_group_id = aws_security_group.node.id
  description       = "HTTPS to AWS APIs (through VPC endpoints or NAT)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_launch_template" "node" {
  name_prefix   = "${var.name}-node-"
  image_id      = data.aws_ssm_parameter.ami.insecure_value
  instance_type = var.instance_type
  user_data = base64encode(<<-USERDATA
    #!/bin/bash
    cat >> /etc/ecs/ecs.config <<'ECS'
    ECS_CLUSTER=${aws_ecs_cluster.this.name}
    ECS_ENABLE_TASK_IAM_ROLE=true
    ECS_CONTAINER_STOP_TIMEOUT=30s
    ECS
  USERDATA
  )
  vpc_security_group_ids = [aws_security_group.node.id]
  update_default_version = true
  tags                   = var.tags

  iam_instance_profile {
    arn = aws_iam_instance_profile.node.arn
  }

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
    # One hop: containers in bridge mode cannot reach the instance's credentials.
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  monitoring {
    enabled = true
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.root_volume_size
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.ebs_kms_key_arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-node" })
  }

  # Volumes carry the node's Name too, so a detached volume still says where it came from.
  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = "${var.name}-node" })
  }
}

resource "aws_autoscaling_group" "node" {
  name_prefix           = "${var.name}-node-"
  vpc_zone_identifier   = var.private_subnet_ids
  min_size              = var.min_size
  max_size              = var.max_size
  health_check_type     = "EC2"
  protect_from_scale_in = true
  # Scale-in protection (which ECS managed termination needs) keeps every instance when the group is emptied,
  # so a destroy would wait forever; by then the services are gone, so terminating the nodes is safe.
  force_delete = true

  launch_template {
    id      = aws_launch_template.node.id
    version = aws_launch_template.node.latest_version
  }

  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = 50
    }
  }

  tag {
    key                 = "AmazonECSManaged"
    value               = "true"
    propagate_at_launch = true
  }

  dynamic "tag" {
    for_each = var.tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    # The capacity provider's managed scaling owns the instance count.
    ignore_changes = [desired_capacity]
  }
}

resource "aws_ecs_capacity_provider" "this" {
  name = "${var.name}-ec2"
  tags = var.tags

  auto_scaling_group_provider {
    auto_scaling_group_arn         = aws_autoscaling_group.node.arn
    managed_termination_protection = "ENABLED"
    managed_draining               = "ENABLED"

    managed_scaling {
      status                    = "ENABLED"
      target_capacity           = var.target_capacity
      minimum_scaling_step_size = 1
      maximum_scaling_step_size = 2
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = [aws_ecs_capacity_provider.this.name]

  default_capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.this.name
    weight            = 1
    base              = 1
  }
}

# Optional and off by default. Reached only with `aws ssm start-session`: no SSH port, no public IP.
resource "aws_instance" "bastion" {
  count = var.enable_bastion ? 1 : 0

  ami                    = data.aws_ssm_parameter.ami.insecure_value
  instance_type          = "t3.micro"
  subnet_id              = var.private_subnet_ids[0]
  vpc_security_group_ids = [aws_security_group.node.id]
  iam_instance_profile   = aws_iam_instance_profile.node.name
  ebs_optimized          = true
  monitoring             = true
  tags                   = merge(var.tags, { Name = "${var.name}-bastion" })

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  root_block_device {
    encrypted  = true
    kms_key_id = var.ebs_kms_key_arn
  }
}
