#!/usr/bin/env bash
# Numbers for the Packer part: Go build times of Packer and its plugins (from setup-packer.sh's log), the wall
# time of one local container bake (`gantry bake --target container`), and the baked image's size.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(.venv/bin/python -m gantry.host.podman env)"
CACHE_DIR="${GANTRY_TOOLS_CACHE:-$HOME/.cache/gantry-tools}/packer"
PYTHON="${PYTHON:-.venv/bin/python}"
IMAGE=localhost/gantry/golden-base:bookworm
BASE=localhost/gantry/debian-base:bookworm

echo "== go builds (first build on this machine; later runs reuse the binaries)"
if [ -f "$CACHE_DIR/build-times.log" ]; then cat "$CACHE_DIR/build-times.log"; else echo "(none recorded)"; fi

echo "== container bake"
start=$(date +%s%N)
"$PYTHON" -c "from gantry.bake.cli import bake; bake(prog_name='gantry bake')" --target container "$@" \
  >/dev/null 2>&1 || { echo "bench-packer: bake failed, see .gantry/packer/build-container.log" >&2; exit 1; }
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
printf 'bake_seconds %d.%d\n' $(( ms / 1000 )) $(( ms % 1000 / 100 ))

size() { podman image inspect --format '{{.Size}}' "$1"; }
printf 'image_bytes %s (%s MB)\n' "$(size "$IMAGE")" "$(( $(size "$IMAGE") / 1000000 ))"
printf 'base_bytes %s (%s MB)\n' "$(size "$BASE")" "$(( $(size "$BASE") / 1000000 ))"
printf 'layers %s\n' "$(podman image inspect --format '{{len .RootFS.Layers}}' "$IMAGE")"
