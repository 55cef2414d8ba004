# Sourced by scripts/setup-*.sh. The tools cache (${GANTRY_TOOLS_CACHE:-~/.cache/gantry-tools}) lives outside
# the checkout so slow Go builds survive a fresh clone; a cached file is used only after its recorded sha256
# matches, so a truncated or replaced binary is rebuilt instead of trusted.

# cache_record STAMP FILE: remember FILE's hash in STAMP.
cache_record() {
  sha256sum "$2" | cut -d' ' -f1 >"$1"
}

# cache_verified STAMP FILE: true when FILE exists and still has the hash STAMP recorded.
cache_verified() {
  [ -f "$1" ] && [ -x "$2" ] && [ "$(sha256sum "$2" | cut -d' ' -f1)" = "$(cat "$1")" ]
}
