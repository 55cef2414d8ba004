#!/bin/sh
# Last step of every golden bake: remove what must differ per machine or must not ship in an image.
# GOLDEN_IMAGE_KIND=ami|container (set by the build). Runs as root.
set -eu
kind="${GOLDEN_IMAGE_KIND:?GOLDEN_IMAGE_KIND must be ami or container}"

# SSH host keys: each instance generates its own on first boot; a container image has no SSH at all.
rm -f /etc/ssh/ssh_host_*

# Package caches and lists: stale on the next boot/build and only make the image bigger.
if command -v apt-get >/dev/null 2>&1; then
  apt-get clean
  rm -rf /var/lib/apt/lists/*
fi
if command -v dnf >/dev/null 2>&1; then
  dnf clean all >/dev/null
fi

# Logs and shell history of the build itself.
find /var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete
find /var/log -type f -exec truncate -s 0 {} +
rm -rf /tmp/* /var/tmp/* /root/.ansible /root/.bash_history

case "$kind" in
  ami)
    # The build's temporary key pair must not stay authorised on every future host.
    rm -f /home/ec2-user/.ssh/authorized_keys /root/.ssh/authorized_keys
    # cloud-init re-runs its first-boot modules (host keys, hostname, user data) on each new instance.
    cloud-init clean --logs --seed
    # The ECS agent registers each instance afresh; a baked agent.db would reuse the build instance's identity.
    systemctl stop ecs >/dev/null 2>&1 || true
    rm -rf /var/lib/ecs/data/*
    # A unique machine-id is generated on first boot when the file is empty.
    truncate -s 0 /etc/machine-id
    journalctl --rotate >/dev/null 2>&1 || true
    journalctl --vacuum-time=1s >/dev/null 2>&1 || true
    ;;
  container)
    # Containers get their machine-id from the engine; an empty file is what Debian's images ship.
    : >/etc/machine-id
    ;;
  *)
    echo "cleanup.sh: unknown GOLDEN_IMAGE_KIND '$kind' (ami|container)" >&2
    exit 2
    ;;
esac
