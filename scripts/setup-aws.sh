#!/usr/bin/env bash
# The aws target's checks need nothing beyond bootstrap (.venv with moto[server] and boto3; git; skopeo for
# real pushes). This only verifies, fast and idempotently, and says what to run when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x .venv/bin/moto_server ] || missing+=(".venv/bin/moto_server (run scripts/bootstrap.sh)")
.venv/bin/python -c "import boto3, botocore, moto" 2>/dev/null || missing+=("boto3/moto in .venv (run scripts/bootstrap.sh)")
command -v git >/dev/null || missing+=("git (apt-get install git)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'setup-aws: missing %s\n' "${missing[@]}" >&2
  exit 1
fi
command -v skopeo >/dev/null || echo "setup-aws: note: skopeo absent; only needed to push images to real ECR"
echo "setup-aws: ready (moto $(.venv/bin/python -c 'import moto; print(moto.__version__)'))"
