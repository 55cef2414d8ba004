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

# 5. The real AWS provider, for what needs more than the schema (the moto apply, the extract's diff); where it is
#    present, validate and test use it instead of the schema-only one. Two routes (terraform/README.md):
#    - a machine that reaches HashiCorp's registry downloads the pinned version from it (terraform checks
#      HashiCorp's signature over the release's SHA256SUMS);
#    - elsewhere, opt-in (GANTRY_TF_VALIDATE=1, `make terraform-provider`): built from the Go module, cut to the
#      service packages the repository's types live in (terraform/schema-provider/trim_provider.py).
PROVIDER="$MIRROR/terraform-provider-aws_v${AWS_PROVIDER_VERSION}"
PROVIDER_STAMP="$CACHE/.provider-aws-$AWS_PROVIDER_VERSION.sha256"
if [ -x "$PROVIDER" ] && ! cache_verified "$PROVIDER_STAMP" "$PROVIDER"; then
    log "the cached AWS provider does not match its recorded hash: removing it"
    rm -f "$PROVIDER"
fi
terraform_cmd=$(command -v terraform || echo "$BIN/terraform")
if ! [ -x "$PROVIDER" ] && [ "${GANTRY_TF_REGISTRY:-auto}" != off ] \
    && command -v curl >/dev/null && curl -fsS --max-time 5 -o /dev/null https://registry.terraform.io/.well-known/terraform.json 2>/dev/null; then
    log "HashiCorp's registry is reachable: downloading the AWS provider $AWS_PROVIDER_VERSION"
    scratch=$(mktemp -d)
    printf 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = "= %s" }\n  }\n}\n' \
        "$AWS_PROVIDER_VERSION" >"$scratch/main.tf"
    if TF_CLI_CONFIG_FILE=/dev/null "$terraform_cmd" -chdir="$scratch" providers mirror -platform=linux_amd64 \
        "$scratch/packed" >"$LOGS/provider-registry.log" 2>&1; then
        mkdir -p "$MIRROR"
        (cd "$scratch" && python3 -m zipfile -e packed/registry.terraform.io/hashicorp/aws/*_linux_amd64.zip unpacked)
        mv "$scratch"/unpacked/terraform-provider-aws_v* "$PROVIDER"
        chmod +x "$PROVIDER"
        cache_record "$PROVIDER_STAMP" "$PROVIDER"
    else
        log "the registry download failed (see $LOGS/provider-registry.log): validate and test use the schema-only provider"
    fi
    rm -rf "$scratch"
fi
if [ "${GANTRY_TF_VALIDATE:-0}" = 1 ] && ! [ -x "$PROVIDER" ]; then
    command -v go >/dev/null || { log "go is not installed: cannot build the AWS provider"; exit 1; }
    started=$SECONDS
    log "building the AWS provider from $AWS_PROVIDER_MODULE@$AWS_PROVIDER_PSEUDO (log in $LOGS/provider.log)"
    module_dir=$(go mod download -json "$AWS_PROVIDER_MODULE@$AWS_PROVIDER_PSEUDO" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
    work="$CACHE/provider-src"
    rm -rf "$work" && cp -r "$module_dir" "$work" && chmod -R u+w "$work"
    python3 "$SCHEMA_SOURCE/trim_provider.py" "$work" >>"$LOGS/provider.log" 2>&1 \
        || { log "trimming the provider source failed: see $LOGS/provider.log"; exit 1; }
    mkdir -p "$MIRROR"
    (cd "$work" && GOFLAGS=-buildvcs=false go build -trimpath -ldflags="-s -w" -o "$PROVIDER.new" .) \
        >>"$LOGS/provider.log" 2>&1 || { log "building the AWS provider failed: see $LOGS/provider.log"; exit 1; }
    mv "$PROVIDER.new" "$PROVIDER"
    cache_record "$PROVIDER_STAMP" "$PROVIDER"
    rm -rf "$work"
    log "built the AWS provider $AWS_PROVIDER_VERSION in $((SECONDS - started)) s, mirrored in $CACHE/mirror"
fi

log "ready (validate and test: $([ -x "$PROVIDER" ] && echo "the real provider" || echo "the schema-only provider; GANTRY_TF_VALIDATE=1 builds the real one"))"
