# Plugins are built from Go modules by scripts/setup-packer.sh (HashiCorp's registry is unreachable here) and
# installed with `packer plugins install --path`; exact pins so a rebuild never picks up a different plugin.
packer {
  required_version = ">= 1.12.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "= 1.8.2"
    }
    ansible = {
      source  = "github.com/hashicorp/ansible"
      version = "= 1.1.2"
    }
    docker = {
      source  = "github.com/hashicorp/docker"
      version = "= 1.1.2"
    }
  }
}
