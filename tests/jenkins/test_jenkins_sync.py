"""`gantry jenkins sync`: Jenkins Job Builder applies jenkins/jobs to a local Jenkins stand-in.

No Jenkins server distribution is reachable here, so `jenkins-jobs update` runs for real against the HTTP
stand-in in jenkins_standin.py (127.0.0.1, ports 23000-23999), which implements the job endpoints JJB uses
(createItem, config.xml, doDelete, api/json).
"""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jenkins_standin import TOKENS, StandinServer

from gantry.jenkins import sync as sync_module
from gantry.jenkins.cli import jenkins

EXPECTED_JOBS = {
    "example-cart-pipeline",
    "example-image-rebuild",
    "example-source-mirror",
    "example-dr-drill",
    "example-ansible-maintenance",
    "jenkins-jobs-seed",
}
MANAGED = "<project><description>old&lt;!-- Managed by Jenkins Job Builder --&gt;</description></project>"


@pytest.fixture(autouse=True)
def private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_sync_creates_updates_and_prunes_only_managed_jobs(
    standin: StandinServer, as_user: Callable[[str], None]
) -> None:
    as_user("alice")
    standin.state.jobs = {
        "example-cart-pipeline": "<flow-definition>stale</flow-definition>",
        "example-retired-pipeline": MANAGED,
        "hand-made": "<project><description>made in the UI</description></project>",
    }
    result = CliRunner().invoke(jenkins, ["sync", "--delete-old"])
    assert result.exit_code == 0, result.output
    assert set(standin.state.jobs) == EXPECTED_JOBS | {"hand-made"}
    assert "CpsScmFlowDefinition" in standin.state.jobs["example-cart-pipeline"]
    assert all(user == "alice" for _, _, user in standin.state.requests)


def test_sync_passes_credentials_in_a_private_file_that_is_removed(
    standin: StandinServer, as_user: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    as_user("bob")
    seen: dict[str, Any] = {}
    real_run = subprocess.run

    def spy(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        if "--conf" not in args:  # e.g. git rev-parse finding the repository root
            return real_run(args, **kwargs)
        ini = Path(args[args.index("--conf") + 1])
        seen.update(
            args=args,
            ini=ini,
            mode=stat.S_IMODE(ini.stat().st_mode),
            dir_mode=stat.S_IMODE(ini.parent.stat().st_mode),
            text=ini.read_text(),
        )
        return real_run(args, **kwargs)

    monkeypatch.setattr(sync_module.subprocess, "run", spy)
    result = CliRunner().invoke(jenkins, ["sync"])
    assert result.exit_code == 0, result.output
    assert TOKENS["bob"] not in " ".join(seen["args"])
    assert TOKENS["bob"] in seen["text"]
    assert seen["mode"] == 0o600
    assert seen["dir_mode"] == 0o700
    assert not seen["ini"].exists()
    assert TOKENS["bob"] not in result.output


def test_render_needs_no_controller_or_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("JENKINS_URL", "JENKINS_USER", "JENKINS_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GANTRY_JENKINS_CONFIG", str(tmp_path / "absent.yaml"))
    result = CliRunner().invoke(jenkins, ["sync", "--render-to", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "out").iterdir()} == EXPECTED_JOBS
