#!/usr/bin/env bash
# Prepares what the Ansible checks need; safe to run again (skips what is in place):
#   - the project's Debian base image localhost/gantry/debian-base:bookworm (`gantry base-image --local-only`)
#   - the systemd test image that molecule converges roles on (ansible/molecule-image/Containerfile)
# Both live in the project's own image store (.cache/containers, see gantry/host/podman.py), and each is
# checked by its exact name right after it is made.
# Galaxy is unreachable, so no `ansible-galaxy install`: roles use only collections bundled in the
# pinned `ansible` package of .venv (ansible/requirements.yml records which).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(.venv/bin/python -m gantry.host.podman env)"

BASE_IMAGE=localhost/gantry/debian-base:bookworm
TEST_IMAGE=localhost/gantry/molecule-debian12:bookworm
CACHE_DIR="${GANTRY_TOOLS_CACHE:-$HOME/.cache/gantry-tools}/ansible"
mkdir -p "$CACHE_DIR"

image_exists() { podman image exists "$1"; }
require_image() {
  image_exists "$1" || { echo "setup-ansible: $2 finished but podman lists no image $1: $3" >&2; exit 1; }
}

if ! image_exists "$BASE_IMAGE"; then
  echo "setup-ansible: making $BASE_IMAGE with gantry base-image"
  .venv/bin/gantry base-image --local-only
  require_image "$BASE_IMAGE" "gantry base-image" "rerun scripts/setup-ansible.sh"
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
  require_image "$TEST_IMAGE" "podman build" "see $CACHE_DIR/image-build.log"
fi
# Collections the roles, inventories and molecule's podman driver need; all ship in the pinned ansible package.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for collection in ansible/posix community/general amazon/aws containers/podman; do
  [ -d "$site/ansible_collections/$collection" ] \
    || { echo "setup-ansible: collection ${collection/\//.} missing from .venv: run scripts/bootstrap.sh"; exit 1; }
done
for d in single mon node1 node2; do mkdir -p "$CACHE_DIR/apt-archives/$d/partial"; done
echo "setup-ansible: ready ($TEST_IMAGE)"
