"""The Jenkinsfile under test: a Groovy syntax parse and the JenkinsPipelineUnit suite (Maven, offline).

scripts/setup-jenkins.sh installs the JDK, Maven and Groovy and fills the Maven repository cache
(${GANTRY_TOOLS_CACHE:-~/.cache/gantry-tools}/jenkins/m2); these tests then run Maven with -o (offline).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jenkins_standin import ROOT

PROJECT = ROOT / "jenkins" / "pipeline-tests"


def tools_cache() -> Path:
    return Path(os.environ.get("GANTRY_TOOLS_CACHE") or Path.home() / ".cache" / "gantry-tools") / "jenkins"


def java_env() -> dict[str, str]:
    javac = shutil.which("javac")
    if not javac:
        pytest.skip("no JDK on PATH: run scripts/setup-jenkins.sh")
    env = dict(os.environ)
    env.setdefault("JAVA_HOME", str(Path(javac).resolve().parents[1]))
    return env


def test_jenkinsfile_and_inline_pipeline_parse(rendered_jobs: Path, tmp_path: Path) -> None:
    groovy = shutil.which("groovy")
    if not groovy:
        pytest.skip("Debian's groovy is not installed: run scripts/setup-jenkins.sh")
    # The ansible-maintenance job carries its pipeline inline; parse the rendered script too.
    # Parsing XML that our own jenkins-jobs run rendered, not untrusted input.
    root = ET.parse(rendered_jobs / "example-ansible-maintenance" / "config.xml").getroot()  # noqa: S314
    inline = tmp_path / "ansible-maintenance.groovy"
    inline.write_text(root.findtext("definition/script") or "")
    result = subprocess.run(
        [groovy, str(PROJECT / "parse-check.groovy"), str(ROOT / "Jenkinsfile"), str(inline)],
        capture_output=True,
        text=True,
        env=java_env(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_jenkinsfile_unit_tests_pass() -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        pytest.skip("Maven is not installed: run scripts/setup-jenkins.sh")
    repo = tools_cache() / "m2"
    if not repo.is_dir():
        pytest.skip(f"no Maven repository cache at {repo}: run scripts/setup-jenkins.sh")
    result = subprocess.run(
        [mvn, "-B", "-q", "-o", f"-Dmaven.repo.local={repo}", "test"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env=java_env(),
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    # Parsing the surefire report Maven just wrote.
    report = ET.parse(PROJECT / "target" / "surefire-reports" / "TEST-gantry.JenkinsfileTest.xml").getroot()  # noqa: S314
    assert int(report.get("tests", "0")) >= 13
    assert report.get("failures") == "0"
    assert report.get("errors") == "0"
    assert report.get("skipped") == "0"
