#!/usr/bin/env bash
# What the aws target's checks need beyond bootstrap (.venv with moto[server], boto3 and parliament):
#   - the IAM simulator the least-privilege tests evaluate policies with (@cloud-copilot/iam-simulate, from npm,
#     exactly as tests/aws/iamsim/package-lock.json pins it, integrity hashes checked by `npm ci`), installed
#     into the tools cache; a second run only compares the lock's hash.
# It says what to run when something is missing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CACHE="${GANTRY_TOOLS_CACHE:-$HOME/.cache/gantry-tools}/iamsim"

missing=()
[ -x .venv/bin/moto_server ] || missing+=(".venv/bin/moto_server (run scripts/bootstrap.sh)")
.venv/bin/python -c "import boto3, botocore, moto" 2>/dev/null || missing+=("boto3/moto in .venv (run scripts/bootstrap.sh)")
command -v git >/dev/null || missing+=("git (apt-get install git)")
command -v node >/dev/null && command -v npm >/dev/null || missing+=("node and npm (apt-get install nodejs npm)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'setup-aws: missing %s\n' "${missing[@]}" >&2
  exit 1
fi

wanted=$(cat tests/aws/iamsim/package.json tests/aws/iamsim/package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat "$CACHE/.installed" 2>/dev/null)" != "$wanted" ] || ! [ -d "$CACHE/node_modules/@cloud-copilot/iam-simulate" ]; then
  echo "setup-aws: installing the IAM simulator (npm ci, pinned by tests/aws/iamsim/package-lock.json)"
  rm -rf "$CACHE"
  mkdir -p "$CACHE"
  cp tests/aws/iamsim/package.json tests/aws/iamsim/package-lock.json "$CACHE/"
  (cd "$CACHE" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null) \
    || { echo "setup-aws: npm ci failed in $CACHE" >&2; exit 1; }
  echo "$wanted" >"$CACHE/.installed"
fi
command -v skopeo >/dev/null || echo "setup-aws: note: skopeo absent; only needed to push images to real ECR"
echo "setup-aws: ready (moto $(.venv/bin/python -c 'import moto; print(moto.__version__)'), iam-simulate $(node -p "require('$CACHE/node_modules/@cloud-copilot/iam-simulate/package.json').version"))"
