#!/usr/bin/env bash
# Installs what gantry needs on a fresh Debian 12 machine; safe to run again (it skips what is in place).
#   - Debian packages: container engine (podman + runc), registry, skopeo, HAProxy, PostgreSQL 15, Prometheus stack,
#     debootstrap
#   - .venv with the pinned Python packages: requirements.lock (every package, with hashes; made by
#     scripts/lock-requirements.sh from pyproject.toml), then the project itself without dependencies
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  podman runc uidmap fuse-overlayfs skopeo debootstrap docker-registry haproxy postgresql-15
  prometheus prometheus-alertmanager prometheus-node-exporter
  git ca-certificates openssh-client
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts these as system services on install; gantry runs its own instances on its own ports.
  for svc in haproxy postgresql prometheus prometheus-alertmanager prometheus-node-exporter docker-registry; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
fi
# The stamp holds the hash of what was installed, so a changed lock (or a checkout of another commit)
# reinstalls even when file times say otherwise.
stamp=.venv/.gantry-installed
wanted=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "bootstrap: installing pinned Python packages into .venv"
  .venv/bin/pip install -q --require-hashes -r requirements.lock
  .venv/bin/pip install -q --no-deps --no-build-isolation -e .
  echo "$wanted" >"$stamp"
fi
# The project's own podman image store under .cache/containers (CONTAINERS_STORAGE_CONF, see the Makefile).
.venv/bin/python -m gantry.host.podman write
echo "bootstrap: ready (.venv, Debian packages)"
