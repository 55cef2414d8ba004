"""Apply jenkins/jobs to the controller with Jenkins Job Builder (`jenkins-jobs update`).

JJB reads credentials from an ini file, so one is written to a private temporary directory (0700/0600)
and deleted afterwards; the token never appears on a command line or in the process list.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from gantry.errors import ConfigError, GantryError
from gantry.jenkins.credentials import JenkinsCredentials


def jenkins_jobs_binary() -> str:
    beside_python = Path(sys.executable).parent / "jenkins-jobs"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("jenkins-jobs")
    if not found:
        raise ConfigError("jenkins-jobs not found: pip install jenkins-job-builder (it is in the dev extras)")
    return found


def _write_ini(directory: Path, credentials: JenkinsCredentials) -> Path:
    ini = configparser.ConfigParser(interpolation=None)
    # The controller is the source of truth for what is deployed: never skip a job because a local cache
    # says it is unchanged.
    ini["job_builder"] = {"ignore_cache": "True", "keep_descriptions": "False"}
    ini["jenkins"] = {
        "url": credentials.url,
        "user": credentials.user,
        "password": credentials.api_token,
        "query_plugins_info": "False",
    }
    path = directory / "jenkins_jobs.ini"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        ini.write(handle)
    return path


def _run(args: list[str], what: str) -> None:
    result = subprocess.run(args, check=False)
    if result.returncode != 0:
        raise GantryError(f"{what} failed (jenkins-jobs exit {result.returncode}); see its output above")


def render(jobs_dir: Path, output: Path) -> None:
    """Render every job to OUTPUT/<job>/config.xml without contacting a controller."""
    _check_dir(jobs_dir)
    _run([jenkins_jobs_binary(), "test", str(jobs_dir), "-o", str(output), "--config-xml"], "rendering jobs")


def update(jobs_dir: Path, credentials: JenkinsCredentials, *, delete_old: bool) -> None:
    _check_dir(jobs_dir)
    with tempfile.TemporaryDirectory(prefix="gantry-jenkins-") as tmp:
        ini = _write_ini(Path(tmp), credentials)
        args = [jenkins_jobs_binary(), "--conf", str(ini), "update", str(jobs_dir)]
        if delete_old:
            args.append("--delete-old")
        _run(args, "jenkins-jobs update")


def _check_dir(jobs_dir: Path) -> None:
    if not jobs_dir.is_dir():
        raise ConfigError(f"no job definitions at {jobs_dir}: run from the repository or pass --jobs-dir")
