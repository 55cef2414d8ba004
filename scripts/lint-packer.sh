#!/usr/bin/env bash
# Static checks of the Packer recipe and the bake code; non-zero on any finding.
#   packer fmt -check       every template
#   packer validate         both builds, fully, without AWS credentials or network
#   shell scripts           checked with ShellCheck (when installed)
#   ruff, mypy --strict     gantry/bake and its tests
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1 # Packer would otherwise phone HashiCorp's checkpoint service
CACHE_DIR="${GANTRY_TOOLS_CACHE:-$HOME/.cache/gantry-tools}/packer"
export PACKER_PLUGIN_PATH="$CACHE_DIR/plugins"
PACKER="$CACHE_DIR/bin/packer"
[ -x "$PACKER" ] || { echo "lint-packer: $PACKER missing: run scripts/setup-packer.sh" >&2; exit 1; }
VENV_BIN="${VENV_BIN:-.venv/bin}"

status=0
fail() { echo "lint-packer: $*" >&2; status=1; }

"$PACKER" fmt -check -diff -recursive packer/ || fail "packer fmt -check found unformatted templates (run: packer fmt packer/)"

# Values a real bake would get from the environment file; validation needs the required ones set.
VARS=(-var customer=example -var secondary_region=us-west-2 -var "ansible_playbook=$PWD/$VENV_BIN/ansible-playbook")

# Full validation of both builds (not -syntax-only): neither the amazon-ebs builder nor the provisioners call
# AWS while validating. Where the kernel allows, it runs in an empty network namespace to prove it stays offline.
OFFLINE=()
if unshare -n true 2>/dev/null; then OFFLINE=(unshare -n); fi
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_PROFILE AWS_CONFIG_FILE=/dev/null \
  "${OFFLINE[@]}" "$PACKER" validate "${VARS[@]}" packer/ || fail "packer validate failed"
# A single-region bake (staging) is a different shape of the same template: validate it too.
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_PROFILE AWS_CONFIG_FILE=/dev/null \
  "${OFFLINE[@]}" "$PACKER" validate -var customer=example -var secondary_region= \
  -var "ansible_playbook=$PWD/$VENV_BIN/ansible-playbook" -only=golden.amazon-ebs.ecs-host packer/ \
  || fail "packer validate (single region) failed"

if command -v shellcheck >/dev/null; then
  shellcheck -x packer/scripts/*.sh scripts/setup-packer.sh scripts/lint-packer.sh scripts/bench-packer.sh \
    || fail "shellcheck findings"
else
  echo "lint-packer: shellcheck not installed, shell scripts not checked"
fi

"$VENV_BIN/ruff" check gantry/bake tests/packer || fail "ruff findings"
"$VENV_BIN/mypy" --strict gantry/bake || fail "mypy findings"

[ "$status" -eq 0 ] && echo "lint-packer: ok"
exit "$status"
