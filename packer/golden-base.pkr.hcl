# The golden container base image: the same playbook as the ECS host, applied in image mode on top of the
# debootstrap-built Debian base. The builder drives podman's CLI (docker_path), see README.md.
source "docker" "golden-base" {
  docker_path = var.docker_path
  image       = var.container_base_image
  pull        = false # a local image, built by `gantry base-image`; nothing is fetched from a registry
  commit      = true
  # The builder keeps its container alive with `/bin/sh` as entrypoint; reset it so the image's consumers
  # (services/cart/Dockerfile's CMD) run their command directly, and record provenance as OCI labels.
  changes = [
    "ENTRYPOINT []",
    "CMD [\"/bin/bash\"]",
    "ENV LANG=C.UTF-8",
    "LABEL org.opencontainers.image.title=gantry-golden-base",
    "LABEL org.opencontainers.image.revision=${var.git_sha}",
    "LABEL org.opencontainers.image.created=${local.build_date}",
    "LABEL org.opencontainers.image.base.name=${var.container_base_image}",
  ]
}
