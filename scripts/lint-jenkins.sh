#!/usr/bin/env bash
# Static checks for the Jenkins area; exits non-zero when any check finds something:
#   yamllint (jobs, casc), Jenkins Job Builder renders every job, Groovy parses the Jenkinsfile and the inline
#   pipeline of the rendered jobs, plugins.txt is pinned, ruff and mypy (strict) on the Python.
set -uo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/.venv/bin:$PATH"

status=0
check() {
  local name=$1
  shift
  if "$@"; then echo "lint-jenkins: ok   $name"; else echo "lint-jenkins: FAIL $name"; status=1; fi
}

out=$(mktemp -d /tmp/gantry-jenkins-lint.XXXXXX)
trap 'rm -rf "$out"' EXIT

yaml_config=(-d "{extends: default, rules: {line-length: {max: 120}, truthy: {check-keys: false},
  comments-indentation: disable, document-start: disable}}")
[ -f .yamllint ] && yaml_config=(-c .yamllint)
check yamllint yamllint --strict "${yaml_config[@]}" jenkins/jobs jenkins/casc

check "jenkins-jobs test" jenkins-jobs -l error test jenkins/jobs -o "$out/jobs" --config-xml

extract_inline() {
  python - "$out/jobs" "$out/inline" <<'PY'
import pathlib, sys, xml.etree.ElementTree as ET
jobs, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
dest.mkdir()
for config in sorted(jobs.glob("*/config.xml")):
    script = ET.parse(config).getroot().findtext("definition/script")
    if script:
        (dest / f"{config.parent.name}.groovy").write_text(script)
if not any(dest.iterdir()):
    sys.exit("no rendered job has an inline pipeline: fix the jenkins-jobs test failure above")
PY
}
groovy_parse() {
  if ! command -v groovy >/dev/null 2>&1; then
    echo "groovy is not installed: run scripts/setup-jenkins.sh"
    return 1
  fi
  JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}" \
    groovy jenkins/pipeline-tests/parse-check.groovy Jenkinsfile "$out"/inline/*.groovy
}
check "inline pipelines extracted" extract_inline
check "groovy parse" groovy_parse

plugins_pinned() {
  local bad
  bad=$(grep -vnE '^(#.*|[a-z0-9-]+:[0-9][0-9A-Za-z._-]*)?$' jenkins/plugins.txt)
  [ -z "$bad" ] || { echo "unpinned or malformed plugins.txt lines:"; echo "$bad"; return 1; }
}
check "plugins.txt pinned" plugins_pinned

check "ruff check" ruff check gantry/jenkins tests/jenkins
check "ruff format" ruff format --check --quiet gantry/jenkins tests/jenkins
check "mypy --strict" mypy --strict gantry/jenkins

exit "$status"
