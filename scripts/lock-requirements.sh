#!/usr/bin/env bash
# Regenerates requirements.lock from pyproject.toml: every package the project and its dev tools need,
# pinned with the hashes of every file PyPI has for that version (pip installs with --require-hashes).
# Existing pins are kept unless pyproject.toml asks otherwise; pass --upgrade to move everything forward.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install -q "pip-tools==7.6.2"
PIP_FIND_LINKS= "$tools/venv/bin/pip-compile" -q --generate-hashes --allow-unsafe --extra dev --strip-extras \
    --no-emit-find-links --output-file requirements.lock "$@" pyproject.toml
echo "lock-requirements: wrote requirements.lock"
