# Inputs shared by both golden images. `gantry bake` fills them from the environment file
# (environments/<customer>/<env>.yaml); plain `packer build -var ...` works the same way.

variable "customer" {
  type        = string
  description = "Customer name from the environment file; names the AMI, its tags and the SSM parameter."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.customer))
    error_message = "The customer must look like the environment file's `customer` (lowercase, digits, dashes)."
  }
}

variable "git_sha" {
  type        = string
  description = "Commit of this repository the image is baked from (tags and labels)."
  default     = "unknown"
}

variable "environment" {
  type        = string
  description = "Environment the bake was asked for (tag only); empty when baking for the whole customer."
  default     = ""
}

# --- ECS host AMI -------------------------------------------------------------------------------------------

variable "region" {
  type        = string
  description = "Primary region: the build instance runs here and the AMI is registered here first."
  default     = "us-east-1"
}

variable "secondary_region" {
  type        = string
  description = "Region the encrypted AMI is copied to; empty for a single-region bake."
  default     = ""
}

variable "kms_key_id" {
  type        = string
  description = "KMS key (id, ARN or alias) encrypting the root volume in the primary region; empty = the customer alias."
  default     = ""
}

variable "secondary_kms_key_id" {
  type        = string
  description = "KMS key for the copy in the secondary region; empty = the customer alias there."
  default     = ""
}

variable "source_ami_name" {
  type        = string
  description = "Name filter for the ECS-optimized Amazon Linux 2023 AMI (owner amazon); the newest match is used."
  default     = "al2023-ami-ecs-hvm-2023.*-kernel-6.1-x86_64"
}

variable "instance_type" {
  type        = string
  description = "Build instance type."
  default     = "t3.small"
}

variable "subnet_id" {
  type        = string
  description = "Subnet for the build instance; empty = the default VPC."
  default     = ""
}

variable "root_volume_size" {
  type        = number
  description = "Root volume size in GiB (the ECS-optimized AMI needs at least 30)."
  default     = 30
}

variable "ssm_parameter_name" {
  type        = string
  description = "SSM parameter the new AMI ID is written to in each region (read by terraform/modules/ecs_cluster)."
  default     = ""
}

variable "publish_ssm" {
  type        = bool
  description = "Write the new AMI IDs to SSM after the build."
  default     = true
}

variable "aws_endpoint_url" {
  type        = string
  description = "Override of the SSM endpoint for the publication step (a local AWS API in tests); empty in real use."
  default     = ""
}

# --- Golden container base image ----------------------------------------------------------------------------

variable "container_base_image" {
  type        = string
  description = "Image the container bake starts FROM (made by `gantry base-image`); never pulled."
  default     = "localhost/gantry/debian-base:bookworm"
}

variable "docker_path" {
  type        = string
  description = "Container CLI the docker builder drives: podman here (no Docker daemon), docker with a Docker engine."
  default     = "podman"
}

variable "container_repository" {
  type        = string
  description = "Repository the baked container image is tagged into."
  default     = "localhost/gantry/golden-base"
}

variable "container_tag" {
  type        = string
  description = "Tag of the baked container image."
  default     = "bookworm"
}

# --- Tools ---------------------------------------------------------------------------------------------------

variable "playbook_file" {
  type        = string
  description = "Golden-image playbook; empty = ansible/playbooks/golden-image.yml of this repository."
  default     = ""
}

variable "ansible_playbook" {
  type        = string
  description = "ansible-playbook executable (the project's .venv one when run through gantry)."
  default     = "ansible-playbook"
}

variable "ansible_extra_vars" {
  type        = map(string)
  description = "Extra variables for the golden-image playbook (e.g. node_exporter_rpm_repo_url for Amazon Linux)."
  default     = {}
}

variable "python" {
  type        = string
  description = "Python with boto3 and this repository importable, used to publish AMI IDs to SSM."
  default     = "python3"
}

variable "manifest_path" {
  type        = string
  description = "Where the manifest post-processor writes; empty = .gantry/packer/manifest.json in this repository."
  default     = ""
}
