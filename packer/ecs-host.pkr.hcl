# The golden ECS host: the newest ECS-optimized Amazon Linux 2023 AMI plus the golden-image roles, encrypted
# with the customer's KMS key and copied to the secondary region.
source "amazon-ebs" "ecs-host" {
  region          = var.region
  instance_type   = var.instance_type
  subnet_id       = var.subnet_id
  ami_name        = "gantry-${var.customer}-ecs-host-${local.build_id}"
  ami_description = "gantry ${var.customer} ECS host: ECS-optimized AL2023 + golden-image roles @ ${var.git_sha}"

  source_ami_filter {
    filters = {
      name                = var.source_ami_name
      architecture        = "x86_64"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["amazon"]
    most_recent = true
  }

  communicator = "ssh"
  ssh_username = "ec2-user"
  # SSH is opened only to the public IP of the machine running Packer, and only for the build's lifetime.
  temporary_security_group_source_public_ip = true

  # IMDSv2 only, on the build instance and on every instance launched from the AMI. Hop limit 2 lets the ECS
  # agent and bridge-mode containers reach the metadata service through the docker bridge.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
  imds_support = "v2.0"

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    encrypted             = true
    kms_key_id            = local.kms_key_id
    delete_on_termination = true
  }
  encrypt_boot       = true
  kms_key_id         = local.kms_key_id
  ami_regions        = local.copy_regions
  region_kms_key_ids = local.region_kms_key_ids

  # {{ .SourceAMI }} / {{ .SourceAMIName }} are resolved by the amazon plugin once the filter has matched.
  tags = merge(local.common_tags, {
    Name                     = "gantry-${var.customer}-ecs-host"
    "gantry:source-ami"      = "{{ .SourceAMI }}"
    "gantry:source-ami-name" = "{{ .SourceAMIName }}"
  })
  snapshot_tags = merge(local.common_tags, {
    "gantry:source-ami" = "{{ .SourceAMI }}"
  })
  run_tags = merge(local.common_tags, {
    Name = "packer-gantry-${var.customer}-ecs-host"
  })
  run_volume_tags = local.common_tags
}
