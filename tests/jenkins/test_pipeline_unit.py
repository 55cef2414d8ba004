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


def maintenance_pipeline(rendered_jobs: Path, directory: Path) -> Path:
    """The ansible-maintenance job's inline pipeline as Jenkins Job Builder rendered it, written to a file."""
    # Parsing XML that our own jenkins-jobs run rendered, not untrusted input.
    root = ET.parse(rendered_jobs / "example-ansible-maintenance" / "config.xml").getroot()  # noqa: S314
    script = root.findtext("definition/script") or ""
    assert "pipeline {" in script
    inline = directory / "ansible-maintenance.groovy"
    inline.write_text(script)
    return inline


def test_jenkinsfile_and_inline_pipeline_parse(rendered_jobs: Path, tmp_path: Path) -> None:
    groovy = shutil.which("groovy")
    if not groovy:
        pytest.skip("Debian's groovy is not installed: run scripts/setup-jenkins.sh")
    # The ansible-maintenance job carries its pipeline inline; parse the rendered script too.
    inline = maintenance_pipeline(rendered_jobs, tmp_path)
    result = subprocess.run(
        [groovy, str(PROJECT / "parse-check.groovy"), str(ROOT / "Jenkinsfile"), str(inline)],
        capture_output=True,
        text=True,
        env=java_env(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Each suite's size, so a test class that stops running (or a test renamed away) is noticed.
SUITES = {"gantry.JenkinsfileTest": 23, "gantry.MaintenancePipelineTest": 9}


def test_jenkinsfile_unit_tests_pass(rendered_jobs: Path, tmp_path: Path) -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        pytest.skip("Maven is not installed: run scripts/setup-jenkins.sh")
    repo = tools_cache() / "m2"
    if not repo.is_dir():
        pytest.skip(f"no Maven repository cache at {repo}: run scripts/setup-jenkins.sh")
    inline = maintenance_pipeline(rendered_jobs, tmp_path)
    reports = PROJECT / "target" / "surefire-reports"
    shutil.rmtree(reports, ignore_errors=True)  # only this run's reports count
    result = subprocess.run(
        [mvn, "-B", "-q", "-o", f"-Dmaven.repo.local={repo}", f"-Dmaintenance.pipeline={inline}", "test"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env=java_env(),
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert {p.name for p in reports.glob("TEST-*.xml")} == {f"TEST-{suite}.xml" for suite in SUITES}
    for suite, size in SUITES.items():
        # Parsing the surefire report Maven just wrote.
        report = ET.parse(reports / f"TEST-{suite}.xml").getroot()  # noqa: S314
        assert report.get("tests") == str(size), suite
        assert (report.get("failures"), report.get("errors"), report.get("skipped")) == ("0", "0", "0"), suite
