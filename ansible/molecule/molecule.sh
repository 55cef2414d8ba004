#!/usr/bin/env bash
# Runs molecule from ansible/ with the environment this machine needs (see /work/shared/README.md):
# the project's podman configuration and image store (runc, explicit ulimits, .cache/containers), the venv's bin
# on PATH (molecule calls ansible-config),
# the shared base config and the shared apt cache. Usage: ansible/molecule/molecule.sh test -s common
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
eval "$("$root/.venv/bin/python" -m gantry.host.podman env)"
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible/ansible.cfg"
export GANTRY_ANSIBLE_APT_CACHE="${GANTRY_ANSIBLE_APT_CACHE:-${GANTRY_TOOLS_CACHE:-$HOME/.cache/gantry-tools}/ansible/apt-archives}"
for d in single mon node1 node2 maint1 maint2; do mkdir -p "$GANTRY_ANSIBLE_APT_CACHE/$d/partial"; done
cd "$root/ansible"
cmd="$1"; shift
exec molecule -c molecule/base.yml "$cmd" "$@"
