#!/usr/bin/env bash
# Prepares what the Jenkins checks need; safe to run again (a fast no-op when everything is in place):
#   - Debian's JDK, Maven and Groovy: JenkinsPipelineUnit runs under Maven (Gradle's distribution server is
#     unreachable here), Groovy syntax-checks the pipeline scripts;
#   - the Maven repository cache in ${GANTRY_TOOLS_CACHE:-~/.cache/gantry-tools}/jenkins/m2 with
#     JenkinsPipelineUnit, Groovy, JUnit and the build plugins, so the tests run Maven offline (-o).
# The cache is refreshed when jenkins/pipeline-tests/pom.xml changes (its hash is kept in m2.stamp).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE_DIR="${GANTRY_TOOLS_CACHE:-$HOME/.cache/gantry-tools}/jenkins"
M2="$CACHE_DIR/m2"
mkdir -p "$CACHE_DIR"

missing=()
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v groovy >/dev/null 2>&1 || missing+=(groovy)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-jenkins: installing ${missing[*]} with apt"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$CACHE_DIR/apt.log" 2>&1 || { tail -n 30 "$CACHE_DIR/apt.log"; exit 1; }
fi
JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
export JAVA_HOME

want=$(sha256sum jenkins/pipeline-tests/pom.xml | cut -c1-16)
have=$(cat "$CACHE_DIR/m2.stamp" 2>/dev/null || true)
if [ "$want" != "$have" ] || [ ! -d "$M2" ]; then
  echo "setup-jenkins: filling the Maven cache $M2 (first run downloads from Maven Central)"
  # One real `mvn test` is the only reliable way to fetch everything an offline run needs: the dependencies,
  # every build plugin with Maven's injected dependencies, and the surefire JUnit provider (resolved only when
  # tests execute). Later runs use -o against this cache.
  (cd jenkins/pipeline-tests && mvn -B -q -Dmaven.repo.local="$M2" test) >"$CACHE_DIR/maven.log" 2>&1 \
    || { tail -n 40 "$CACHE_DIR/maven.log"; exit 1; }
  echo "$want" >"$CACHE_DIR/m2.stamp"
fi
echo "setup-jenkins: ready (JDK $(javac -version 2>&1 | cut -d' ' -f2), $(mvn -B -v 2>/dev/null | head -n1 | sed "s/\x1b\[[0-9;]*m//g" | cut -d" " -f1-3))"
