#!/usr/bin/env bash
# The first run of a new machine, reproduced on this one: clone HEAD into a temporary directory, with an empty
# image store (the clone's own .cache/containers), an empty tools cache (GANTRY_TOOLS_CACHE), empty Go and pip
# caches, then run the README's commands and print the wall time of each step:
#   make demo   (from nothing: virtualenv, debootstrap, first build, both regions)
#   make demo   (again: everything already done)
#   make down
#   make test
# Debian packages cannot be uninstalled for the check: those this machine already has are reported, not
# reinstalled. Commit first: only HEAD is cloned. Needs the local target's ports free (`make down` elsewhere).
#
# The timings are also written as JSON (steps, set-up steps, suites, slowest tests) to
# .cache/fresh-checks/<UTC time>-<commit>.json in this checkout, to compare a later change with this one.
# --warm-test runs `make test` a second time (everything set up): the warm figure.
#
#   scripts/fresh-machine-check.sh [--warm-go] [--warm-test] [--keep] [--skip-test]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WARM_GO=0 WARM_TEST=0 KEEP=0 SKIP_TEST=0
for arg in "$@"; do
  case "$arg" in
    --warm-go) WARM_GO=1 ;;
    --warm-test) WARM_TEST=1 ;;
    --keep) KEEP=1 ;;
    --skip-test) SKIP_TEST=1 ;;
    *) echo "usage: $0 [--warm-go] [--warm-test] [--keep] [--skip-test]" >&2; exit 2 ;;
  esac
done

say() { printf 'fresh-machine-check: %s\n' "$*"; }
fail() { say "FAILED: $*"; exit 1; }

gantry_images_in_system_store() {
  # The system store is what podman uses without the project's CONTAINERS_STORAGE_CONF.
  command -v podman >/dev/null || { echo 0; return; }
  env -u CONTAINERS_STORAGE_CONF podman images --format '{{.Repository}}' 2>/dev/null | grep -c gantry || true
}

for port in 15001 15002 18080 18081 18090 19090 19093 19095; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is in use: run \`make down\` in the checkout that runs the demo, then retry"
  fi
done
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] \
  || say "note: the working tree has uncommitted changes; only HEAD ($(git -C "$ROOT" rev-parse --short HEAD)) is checked"

WORK=$(mktemp -d /tmp/gantry-fresh.XXXXXX)
CLONE="$WORK/gantry"
LOGS="$WORK/logs"
mkdir -p "$LOGS"
cleanup() {
  if [ "$KEEP" = 1 ]; then say "kept $WORK"; return; fi
  (cd "$CLONE" 2>/dev/null && make clean >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT

git clone --quiet "$ROOT" "$CLONE"
# Nothing from this shell may leak into the clone's run: its own state, caches and engine.
unset GANTRY_HOME GANTRY_CACHE GANTRY_ROOT GANTRY_RUN_ID GANTRY_CONFIG DOCKER_HOST \
  CONTAINERS_CONF CONTAINERS_STORAGE_CONF CONTAINERS_REGISTRIES_CONF VIRTUAL_ENV
export GANTRY_TOOLS_CACHE="$WORK/tools-cache" PIP_CACHE_DIR="$WORK/pip-cache"
if [ "$WARM_GO" = 0 ]; then
  export GOCACHE="$WORK/go-build" GOMODCACHE="$WORK/go-mod" GOPATH="$WORK/go"
fi

say "clone: $CLONE at $(git -C "$CLONE" rev-parse --short HEAD)"
say "tools cache: $GANTRY_TOOLS_CACHE (empty); Go caches: $([ "$WARM_GO" = 1 ] && echo "this machine's (--warm-go)" || echo "empty")"
say "gantry images in the system image store before: $(gantry_images_in_system_store)"
say "Debian packages already on this machine (not reinstalled): $(dpkg-query -W -f='${Package} ' podman skopeo \
  docker-registry haproxy postgresql-15 prometheus debootstrap 2>/dev/null | wc -w) of the project's core set"

declare -a NAMES=() SECONDS_TAKEN=() RESULTS=()
step() {  # step NAME make-target...
  local name=$1; shift
  local log started=$SECONDS rc=0
  log="$LOGS/$(echo "$name" | tr ' ' '-' | tr -d '()').log"
  say "== $name (log: $log)"
  (cd "$CLONE" && "$@") >"$log" 2>&1 || rc=$?
  NAMES+=("$name"); SECONDS_TAKEN+=("$((SECONDS - started))"); RESULTS+=("$([ $rc = 0 ] && echo ok || echo "FAILED rc=$rc")")
  if [ $rc != 0 ]; then
    tail -n 40 "$log"
    report
    record
    fail "$name (see $log)"
  fi
}
report() {
  printf '\n%-24s %10s  %s\n' step seconds result
  for i in "${!NAMES[@]}"; do printf '%-24s %10s  %s\n' "${NAMES[$i]}" "${SECONDS_TAKEN[$i]}" "${RESULTS[$i]}"; done
  printf '\n'
}
record() {  # the steps so far, and what each make test log says of itself, as JSON
  local out
  out="$ROOT/.cache/fresh-checks/$(date -u +%Y%m%dT%H%M%SZ)-$(git -C "$CLONE" rev-parse --short HEAD).json"
  mkdir -p "$(dirname "$out")"
  local steps=""
  for i in "${!NAMES[@]}"; do steps+="${NAMES[$i]}"$'\t'"${SECONDS_TAKEN[$i]}"$'\t'"${RESULTS[$i]}"$'\n'; done
  STEPS="$steps" python3 "$ROOT/scripts/lib/test-timings.py" "$LOGS" "$(git -C "$CLONE" rev-parse HEAD)" >"$out"
  say "timings: $out"
}

step "make demo (first)" make demo
step "make demo (second)" make demo
step "make down" make down
if [ "$SKIP_TEST" = 0 ]; then
  step "make test" make test
  grep -E "^(== |setup-|suite |.* passed|.* failed)" "$LOGS/make-test.log" | tail -n 40 || true
  if [ "$WARM_TEST" = 1 ]; then
    step "make test (warm)" make test
    grep -E "^(suite |.* passed|.* failed)" "$LOGS/make-test-warm.log" | tail -n 20 || true
  fi
fi
report
record
after=$(gantry_images_in_system_store)
say "gantry images in the system image store after: $after"
[ "$after" = 0 ] || fail "the system image store holds gantry images: something bypassed the project's store"
say "passed"
