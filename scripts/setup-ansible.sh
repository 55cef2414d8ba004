#!/usr/bin/env bash
# Prepares what the Ansible checks need; safe to run again (skips what is in place):
#   - the project's Debian base image localhost/gantry/debian-base:bookworm (gantry base-image, else debootstrap)
#   - the systemd test image that molecule converges roles on (ansible/molecule-image/Containerfile)
# Galaxy is unreachable, so no `ansible-galaxy install`: roles use only collections bundled in the
# pinned `ansible` package of .venv (ansible/requirements.yml records which).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/config/podman/containers.conf}"

BASE_IMAGE=localhost/gantry/debian-base:bookworm
TEST_IMAGE=localhost/gantry/molecule-debian12:bookworm
CACHE_DIR="${GANTRY_TOOLS_CACHE:-$HOME/.cache/gantry-tools}/ansible"
mkdir -p "$CACHE_DIR"

image_exists() { podman image exists "$1"; }

if ! image_exists "$BASE_IMAGE"; then
  if [ -x .venv/bin/gantry ] && .venv/bin/gantry base-image --help >/dev/null 2>&1; then
    echo "setup-ansible: building $BASE_IMAGE with gantry base-image"
    .venv/bin/gantry base-image --local-only
  else
    echo "setup-ansible: building $BASE_IMAGE with debootstrap (gantry base-image not available yet)"
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
    mirror=${mirror:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d /tmp/gantry-ansible-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$CACHE_DIR/debootstrap.log" 2>&1 \
      || { tail -n 20 "$CACHE_DIR/debootstrap.log"; exit 1; }
    tar -C "$rootfs" -c . | podman import - "$BASE_IMAGE" >/dev/null
  fi
fi

# Rebuild the test image when its definition changes (label carries the Containerfile's hash).
want=$(sha256sum ansible/molecule-image/Containerfile | cut -c1-16)
have=""
if image_exists "$TEST_IMAGE"; then
  have=$(podman image inspect --format '{{ index .Labels "gantry.containerfile" }}' "$TEST_IMAGE" 2>/dev/null || true)
fi
if [ "$want" != "$have" ]; then
  echo "setup-ansible: building $TEST_IMAGE"
  podman build --label "gantry.containerfile=$want" -t "$TEST_IMAGE" \
    -f ansible/molecule-image/Containerfile ansible/molecule-image >"$CACHE_DIR/image-build.log" 2>&1 \
    || { tail -n 30 "$CACHE_DIR/image-build.log"; exit 1; }
fi
# Collections the roles, inventories and molecule's podman driver need; all ship in the pinned ansible package.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for collection in ansible/posix community/general amazon/aws containers/podman; do
  [ -d "$site/ansible_collections/$collection" ] \
    || { echo "setup-ansible: collection ${collection/\//.} missing from .venv: run scripts/bootstrap.sh"; exit 1; }
done
for d in single mon node1 node2; do mkdir -p "$CACHE_DIR/apt-archives/$d/partial"; done
echo "setup-ansible: ready ($TEST_IMAGE)"
