#!/usr/bin/env bash
# Static checks of the Packer recipe and the bake code; non-zero on any finding.
#   packer fmt -check       every template
#   packer validate         the container bake fully; the AMI bake too, unless full validation would need AWS
#                           (then -syntax-only, and the reason is printed)
#   shellcheck              provisioning scripts (when installed)
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
VARS=(-var customer=example -var secondary_region=us-west-2)

"$PACKER" validate "${VARS[@]}" -only=golden.docker.golden-base packer/ >/dev/null \
  || { "$PACKER" validate "${VARS[@]}" -only=golden.docker.golden-base packer/ || true; fail "packer validate (container) failed"; }

# The amazon-ebs builder's full validation checks ami_regions against EC2's DescribeRegions (an AWS call with
# credentials); with no AWS here the AMI build gets -syntax-only plus a full validation of everything else.
if [ -n "${AWS_ACCESS_KEY_ID:-}${AWS_PROFILE:-}" ] && [ "${GANTRY_PACKER_VALIDATE_AWS:-0}" = 1 ]; then
  "$PACKER" validate "${VARS[@]}" -only=golden.amazon-ebs.ecs-host packer/ || fail "packer validate (ami) failed"
else
  echo "lint-packer: ami build validated with -syntax-only (full validation calls AWS; set GANTRY_PACKER_VALIDATE_AWS=1 with credentials)"
  "$PACKER" validate -syntax-only "${VARS[@]}" packer/ || fail "packer validate -syntax-only failed"
fi

if command -v shellcheck >/dev/null; then
  shellcheck packer/scripts/*.sh scripts/setup-packer.sh scripts/lint-packer.sh scripts/bench-packer.sh \
    || fail "shellcheck findings"
else
  echo "lint-packer: shellcheck not installed, shell scripts not checked"
fi

"$VENV_BIN/ruff" check gantry/bake tests/packer || fail "ruff findings"
"$VENV_BIN/mypy" --strict gantry/bake || fail "mypy findings"

[ "$status" -eq 0 ] && echo "lint-packer: ok"
exit "$status"
