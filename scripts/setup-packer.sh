#!/usr/bin/env bash
# Builds Packer and the amazon/ansible/docker plugins from Go modules at pinned versions; safe to run again
# (a stamp per module makes the second run a no-op). HashiCorp's release site and plugin registry are
# unreachable here, so the binaries come from the Go module proxy:
#   - `go install mod@ver` refuses these modules (their go.mod carries a go-cty `replace`), so each module's
#     source is downloaded with `go mod download`, its zip hash checked against the pin below, copied to a
#     writable directory and built there with `go build` (the replace is then honoured);
#   - plugins are registered with `packer plugins install --path` into a project-owned PACKER_PLUGIN_PATH.
# Output: $GANTRY_TOOLS_CACHE/packer/{bin/packer,plugins/}; build times are appended to build-times.log.
# Also ensures podman (the local bake's engine: Packer's docker builder drives the podman CLI) and shellcheck.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/cache.sh
. scripts/lib/cache.sh

CACHE_DIR="${GANTRY_TOOLS_CACHE:-$HOME/.cache/gantry-tools}/packer"
BIN_DIR="$CACHE_DIR/bin"
SRC_DIR="$CACHE_DIR/src"
export PACKER_PLUGIN_PATH="$CACHE_DIR/plugins"
mkdir -p "$BIN_DIR" "$SRC_DIR" "$PACKER_PLUGIN_PATH"

# module  version  zip hash (h1, as in go.sum)  binary name
# Versions are the newest the module proxy serves here for each module (others answer 403).
MODULES=(
  "github.com/hashicorp/packer v1.12.0 h1:OF+RPZnW5XJU7i6TWTqDsjHvcXxnaIabvGua8dYR+7Q= packer"
  "github.com/hashicorp/packer-plugin-amazon v1.8.2 h1:fNNWpbfky9+KY9+qZWgfTGjdDUOvVag8rC3gEUWkjOY= packer-plugin-amazon"
  "github.com/hashicorp/packer-plugin-ansible v1.1.2 h1:J4xtCW9jAgIWHbJKpDiNwhRuaf9EjwMv/Hj25qIvWMg= packer-plugin-ansible"
  "github.com/hashicorp/packer-plugin-docker v1.1.2 h1:Ogla1qOzImBp/WM5L7HBdmIntN9DcqDy4H88nf0HilE= packer-plugin-docker"
)
# sum.golang.org has no record of packer-plugin-ansible (404), so its checksum is the pin above instead.
export GONOSUMDB="github.com/hashicorp/packer-plugin-ansible"
export GOFLAGS="-mod=readonly" # build exactly what go.mod/go.sum of the pinned release say
export CHECKPOINT_DISABLE=1 # Packer would otherwise call HashiCorp's version-check service
export CGO_ENABLED=0

ensure_debian_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup-packer: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

command -v go >/dev/null || { echo "setup-packer: Go toolchain not found; install Go >= 1.23 (golang-go)" >&2; exit 1; }
command -v podman >/dev/null || ensure_debian_packages podman runc
command -v shellcheck >/dev/null || ensure_debian_packages shellcheck

build_module() {
  local module=$1 version=$2 sum=$3 name=$4
  local stamp="$CACHE_DIR/.built-$name-$version"
  cache_verified "$stamp" "$BIN_DIR/$name" && return 0
  local info dir got start
  start=$(date +%s)
  info=$(go mod download -json "$module@$version")
  dir=$(sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p' <<<"$info")
  got=$(sed -n 's/^\s*"Sum": "\(.*\)",$/\1/p' <<<"$info")
  if [ -z "$dir" ] || [ "$got" != "$sum" ]; then
    echo "setup-packer: $module@$version: download failed or hash mismatch (got '${got}', want '$sum')" >&2
    echo "$info" >&2
    exit 1
  fi
  rm -rf "${SRC_DIR:?}/$name"
  cp -r "$dir" "$SRC_DIR/$name"
  chmod -R u+w "$SRC_DIR/$name"
  # Release builds clear the "dev" prerelease tag; without it `required_plugins` constraints would not match.
  (cd "$SRC_DIR/$name" && go build -trimpath -o "$BIN_DIR/$name" \
    -ldflags "-s -w -X $module/version.VersionPrerelease=" .) >"$CACHE_DIR/build-$name.log" 2>&1 \
    || { tail -n 30 "$CACHE_DIR/build-$name.log" >&2; exit 1; }
  echo "$(date -u +%FT%TZ) $name $version $(( $(date +%s) - start ))s" >>"$CACHE_DIR/build-times.log"
  echo "setup-packer: built $name $version in $(( $(date +%s) - start ))s"
  cache_record "$stamp" "$BIN_DIR/$name"
}

for entry in "${MODULES[@]}"; do
  # shellcheck disable=SC2086 # word splitting of the table row is intended
  build_module $entry
done

for entry in "${MODULES[@]}"; do
  read -r module version _ name <<<"$entry"
  [ "$name" = packer ] && continue
  installed="$PACKER_PLUGIN_PATH/.installed-$name-$version"
  # Installed again whenever the binary was rebuilt (its hash no longer matches the install stamp).
  cache_verified "$installed" "$BIN_DIR/$name" && continue
  # Plugin source addresses drop the "packer-plugin-" prefix (github.com/hashicorp/amazon).
  "$BIN_DIR/packer" plugins install --path "$BIN_DIR/$name" "${module/packer-plugin-/}" >/dev/null
  cache_record "$installed" "$BIN_DIR/$name"
done
echo "setup-packer: ready ($("$BIN_DIR/packer" version | head -n1); plugins in $PACKER_PLUGIN_PATH)"
