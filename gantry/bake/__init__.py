"""Golden images baked with Packer: the ECS host AMI (both regions) and the local container base image."""
