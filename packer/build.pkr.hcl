# One recipe, two targets: the ECS host AMI and the golden container base image run the same provisioners;
# only the playbook's `golden_image_kind` and the transport differ. Pick one with
#   packer build -only='golden.amazon-ebs.ecs-host' packer/     or     -only='golden.docker.golden-base'
build {
  name = "golden"
  sources = [
    "source.amazon-ebs.ecs-host",
    "source.docker.golden-base",
  ]

  provisioner "ansible" {
    playbook_file = local.playbook_file
    command       = var.ansible_playbook
    user          = source.type == "docker" ? "root" : "ec2-user"
    extra_arguments = [
      "--extra-vars", "golden_image_kind=${local.image_kind[source.type]}",
      "--extra-vars", "ansible_python_interpreter=/usr/bin/python3",
      "--extra-vars", jsonencode(var.ansible_extra_vars),
    ]
    ansible_env_vars = concat(
      fileexists(local.ansible_config) ? ["ANSIBLE_CONFIG=${local.ansible_config}"] : [],
      [
        "ANSIBLE_ROLES_PATH=${local.repo_root}/ansible/roles",
        "ANSIBLE_NOCOLOR=True",
        "ANSIBLE_RETRY_FILES_ENABLED=False",
        # Packer's SSH proxy speaks neither SFTP nor the SCP that OpenSSH 9 uses; piped transfers are plain exec.
        "ANSIBLE_SSH_TRANSFER_METHOD=piped",
        # The proxy's host key is generated per build: nothing to check it against.
        "ANSIBLE_HOST_KEY_CHECKING=False",
      ],
    )
  }

  provisioner "shell" {
    script           = "${path.root}/scripts/cleanup.sh"
    environment_vars = ["GOLDEN_IMAGE_KIND=${local.image_kind[source.type]}"]
    execute_command  = source.type == "docker" ? "chmod +x {{ .Path }}; {{ .Vars }} {{ .Path }}" : "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
  }

  post-processors {
    # The manifest comes first so it records the committed image's ID (after docker-tag it would hold the tag).
    post-processor "manifest" {
      output     = local.manifest_path
      strip_path = true
      custom_data = {
        customer   = var.customer
        git_sha    = var.git_sha
        image_kind = local.image_kind[source.type]
        image_ref  = source.type == "docker" ? "${var.container_repository}:${var.container_tag}" : ""
        build_date = local.build_date
      }
    }

    post-processor "docker-tag" {
      only        = ["docker.golden-base"]
      docker_path = var.docker_path
      repository  = var.container_repository
      tags        = [var.container_tag]
    }

    # Terraform's ECS launch template resolves the AMI through this parameter, in each region.
    post-processor "shell-local" {
      only = ["amazon-ebs.ecs-host"]
      environment_vars = [
        "PYTHONPATH=${local.repo_root}",
        "GANTRY_AWS_ENDPOINT_URL=${var.aws_endpoint_url}",
      ]
      inline = [
        var.publish_ssm ? join(" ", [
          var.python, "-m", "gantry.bake.publish",
          "--manifest", local.manifest_path,
          "--parameter", local.ssm_parameter_name,
        ]) : "echo 'publish_ssm=false: AMI IDs not written to SSM'",
      ]
    }
  }
}
