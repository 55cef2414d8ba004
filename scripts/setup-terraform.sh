#!/usr/bin/env bash
# Install what the Terraform checks need (scripts/lint-terraform.sh, tests/terraform). Idempotent: a second
# run only checks versions. Everything lands in the tools cache or in .venv-checkov, never system-wide.
#
#   scripts/setup-terraform.sh                          terraform, checkov, tflint
#   GANTRY_TF_VALIDATE=1 scripts/setup-terraform.sh     also builds the AWS provider (slow, see below)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="${GANTRY_TOOLS_CACHE:-$HOME/.cache/gantry-tools}/terraform"
BIN="$CACHE/bin"
LOGS="$CACHE/logs"

TERRAFORM_VERSION=1.11.4
CHECKOV_VERSION=3.3.30
TFLINT_VERSION=v0.61.0
# HashiCorp's registry is unreachable, and the Go module proxy serves this provider only as a pseudo-version:
# a main-branch commit whose version/VERSION reads 6.47.1. Terraform sees it as 6.47.1 through the mirror.
AWS_PROVIDER_MODULE=github.com/hashicorp/terraform-provider-aws
AWS_PROVIDER_PSEUDO=v1.60.1-0.20260602190131-5f2286d6d836
AWS_PROVIDER_VERSION=6.47.1
MIRROR="$CACHE/mirror/registry.terraform.io/hashicorp/aws/$AWS_PROVIDER_VERSION/linux_amd64"

mkdir -p "$BIN" "$LOGS"
log() { printf 'setup-terraform: %s\n' "$*"; }
# shellcheck source=scripts/lib/cache.sh
. "$ROOT/scripts/lib/cache.sh"

cat >"$CACHE/terraformrc" <<RC
# Written by scripts/setup-terraform.sh: providers come only from the local mirror, never from the network.
provider_installation {
  filesystem_mirror {
    path    = "$CACHE/mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
RC
export TF_CLI_CONFIG_FILE="$CACHE/terraformrc" CHECKPOINT_DISABLE=1

go_install() {  # module@version binary-name
    command -v go >/dev/null || { log "go is not installed: cannot build $1"; return 1; }
    local started=$SECONDS
    log "building $1 (go install; log in $LOGS/$2.log)"
    GOBIN="$BIN" GOFLAGS="${GOFLAGS:--buildvcs=false}" go install -trimpath -ldflags="-s -w" "$1" >"$LOGS/$2.log" 2>&1 \
        || { log "building $1 failed: see $LOGS/$2.log"; return 1; }
    log "built $2 in $((SECONDS - started)) s"
}

# 1. terraform itself (the machine image normally has it; otherwise build it from the module proxy).
if [[ "$(terraform version -json 2>/dev/null || true)" != *"\"$TERRAFORM_VERSION\""* ]] && ! [ -x "$BIN/terraform" ]; then
    go_install "github.com/hashicorp/terraform@v$TERRAFORM_VERSION" terraform
fi

# 2. checkov in its own virtualenv: its exact pins (boto3 among them) conflict with the project's lock.
CHECKOV_VENV="$ROOT/.venv-checkov"
# Reading the installed metadata is instant; `checkov --version` imports all of checkov.
installed=$("$CHECKOV_VENV/bin/python" -c "import importlib.metadata as m; print(m.version('checkov'))" 2>/dev/null || true)
if [ "$installed" != "$CHECKOV_VERSION" ]; then
    PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
    [ -x "$PYTHON" ] || PYTHON=python3
    log "installing checkov $CHECKOV_VERSION into .venv-checkov"
    "$PYTHON" -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" \
        >"$LOGS/checkov-install.log" 2>&1 || { log "checkov install failed: see $LOGS/checkov-install.log"; exit 1; }
fi

# 3. tflint (its terraform rules are built in; the AWS ruleset plugin is downloaded from GitHub: not here).
if [[ "$("$BIN/tflint" --version 2>/dev/null || true)" != *"version ${TFLINT_VERSION#v}"* ]]; then
    go_install "github.com/terraform-linters/tflint@$TFLINT_VERSION" tflint || log "tflint unavailable: lint runs without it"
fi

# 4. The schema-only AWS provider (terraform/schema-provider): serves the committed schema extract, so
#    `terraform validate` and `terraform test` with mock providers run on every machine. A minute or two from
#    Go modules pinned by its go.sum; rebuilt when its sources change.
SCHEMA_SOURCE="$ROOT/terraform/schema-provider"
SCHEMA_MIRROR="$CACHE/schema-mirror/registry.terraform.io/hashicorp/aws/$AWS_PROVIDER_VERSION/linux_amd64"
SCHEMA_PROVIDER="$SCHEMA_MIRROR/terraform-provider-aws_v${AWS_PROVIDER_VERSION}"
SCHEMA_SOURCES_STAMP="$CACHE/.schema-provider-sources.sha256"
schema_sources=$(cd "$SCHEMA_SOURCE" && sha256sum go.mod go.sum ./*.go aws.schema.json | sha256sum | cut -d' ' -f1)
if ! cache_verified "$CACHE/.schema-provider.sha256" "$SCHEMA_PROVIDER" \
    || [ "$(cat "$SCHEMA_SOURCES_STAMP" 2>/dev/null)" != "$schema_sources" ]; then
    command -v go >/dev/null || { log "go is not installed: cannot build the schema-only provider"; exit 1; }
    started=$SECONDS
    log "building the schema-only AWS provider (log in $LOGS/schema-provider.log)"
    mkdir -p "$SCHEMA_MIRROR"
    (cd "$SCHEMA_SOURCE" && GOFLAGS=-mod=readonly go build -buildvcs=false -trimpath -ldflags="-s -w" \
        -o "$SCHEMA_PROVIDER.new" .) >"$LOGS/schema-provider.log" 2>&1 \
        || { log "building the schema-only provider failed: see $LOGS/schema-provider.log"; exit 1; }
    mv "$SCHEMA_PROVIDER.new" "$SCHEMA_PROVIDER"
    cache_record "$CACHE/.schema-provider.sha256" "$SCHEMA_PROVIDER"
    printf '%s\n' "$schema_sources" >"$SCHEMA_SOURCES_STAMP"
    log "built the schema-only provider in $((SECONDS - started)) s"
fi

# 5. The real AWS provider, for what needs more than the schema (the moto apply): opt-in, the build is long
#    (terraform/README.md). Where it is present, the validate and test checks use it instead.
PROVIDER="$MIRROR/terraform-provider-aws_v${AWS_PROVIDER_VERSION}"
PROVIDER_STAMP="$CACHE/.provider-aws-$AWS_PROVIDER_VERSION.sha256"
if [ -x "$PROVIDER" ] && ! cache_verified "$PROVIDER_STAMP" "$PROVIDER"; then
    log "the cached AWS provider does not match its recorded hash: removing it"
    rm -f "$PROVIDER"
fi
if [ "${GANTRY_TF_VALIDATE:-0}" = 1 ] && ! [ -x "$PROVIDER" ]; then
    if ! [ -x "$BIN/terraform-provider-aws" ]; then
        go_install "$AWS_PROVIDER_MODULE@$AWS_PROVIDER_PSEUDO" terraform-provider-aws
    fi
    mkdir -p "$MIRROR"
    cp "$BIN/terraform-provider-aws" "$PROVIDER"
    cache_record "$PROVIDER_STAMP" "$PROVIDER"
    log "AWS provider $AWS_PROVIDER_VERSION mirrored in $CACHE/mirror"
fi

log "ready (validate and test: $([ -x "$PROVIDER" ] && echo "the real provider" || echo "the schema-only provider; GANTRY_TF_VALIDATE=1 builds the real one"))"
