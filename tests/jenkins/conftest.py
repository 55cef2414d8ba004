"""Fixtures for the Jenkins tests: a local Jenkins stand-in (see jenkins_standin.py) and rendered jobs."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Helper modules beside this file (the stand-in) are imported by name from the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from jenkins_standin import GROUPS, JOBS_DIR, PIPELINE, TOKENS, Plan, StandinServer, State, render


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    state = State(users=dict(TOKENS), groups=GROUPS)
    state.jobs = {PIPELINE: "<flow-definition/>", "example-image-rebuild": "<project/>"}
    server = StandinServer(state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def as_user(standin: StandinServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], None]:
    """Point the credentials at the stand-in as a given user (environment only; no config file)."""

    def use(user: str) -> None:
        monkeypatch.setenv("JENKINS_URL", standin.url)
        monkeypatch.setenv("JENKINS_USER", user)
        monkeypatch.setenv("JENKINS_API_TOKEN", TOKENS[user])
        monkeypatch.setenv("GANTRY_JENKINS_CONFIG", str(tmp_path / "absent.yaml"))

    return use


@pytest.fixture
def plan(standin: StandinServer) -> Callable[[str, Plan], None]:
    def add(job: str, new: Plan) -> None:
        standin.state.plans.setdefault(job, []).append(new)

    return add


@pytest.fixture(scope="session")
def rendered_jobs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every job rendered offline by Jenkins Job Builder: OUT/<job>/config.xml."""
    out = tmp_path_factory.mktemp("jjb")
    render(JOBS_DIR, out)
    return out
