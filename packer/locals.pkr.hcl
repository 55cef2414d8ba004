locals {
  repo_root  = abspath("${path.root}/..")
  build_date = formatdate("YYYY-MM-DD'T'hh:mm:ss'Z'", timestamp())
  build_id   = formatdate("YYYYMMDDhhmmss", timestamp())

  # The playbook switches between a host (services enabled) and an image (nothing started) with this.
  image_kind = {
    "amazon-ebs" = "ami"
    "docker"     = "container"
  }

  playbook_file  = var.playbook_file != "" ? var.playbook_file : "${local.repo_root}/ansible/playbooks/golden-image.yml"
  ansible_config = "${local.repo_root}/ansible/ansible.cfg"
  manifest_path  = var.manifest_path != "" ? var.manifest_path : "${local.repo_root}/.gantry/packer/manifest.json"

  kms_key_id           = var.kms_key_id != "" ? var.kms_key_id : "alias/gantry-${var.customer}-ami"
  secondary_kms_key_id = var.secondary_kms_key_id != "" ? var.secondary_kms_key_id : "alias/gantry-${var.customer}-ami"
  copy_regions         = var.secondary_region != "" ? [var.secondary_region] : []
  region_kms_key_ids   = var.secondary_region != "" ? { (var.secondary_region) = local.secondary_kms_key_id } : {}
  ssm_parameter_name   = var.ssm_parameter_name != "" ? var.ssm_parameter_name : "/gantry/${var.customer}/golden-ami/ecs-host/latest"

  common_tags = {
    "gantry:customer"    = var.customer
    "gantry:git-sha"     = var.git_sha
    "gantry:build-date"  = local.build_date
    "gantry:environment" = var.environment
    "gantry:recipe"      = "packer/golden"
  }
}
