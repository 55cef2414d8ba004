"""The local target's alert rules, as `gantry up` writes them, pass the real `promtool check rules`, and the
database alerts appear exactly when the service has a database."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gantry import contract
from gantry.targets.local.render import render

ROOT = Path(__file__).resolve().parents[2]

PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian prometheus): run `make bootstrap`")
@pytest.mark.parametrize(("database", "duration"), [(True, True), (False, False)])
def test_local_rules_pass_promtool(tmp_path: Path, database: bool, duration: bool) -> None:
    """The service's metrics come from its contract: the error-rate alert counts its declared counter's 5xx, and
    the latency alert exists only when it declares a duration histogram."""
    metrics = contract.read(ROOT / "services/cart/service.yaml").metrics
    metrics = metrics if duration else metrics.model_copy(update={"duration": None})
    rules = tmp_path / "rules.yml"
    rules.write_text(render("rules.yml.j2", service="cart", database=database, metrics=metrics))
    result = subprocess.run([str(PROMTOOL), "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = rules.read_text()
    assert f'rate({metrics.requests}{{{metrics.status_label}=~"5.."}}[1m])' in text
    assert ("alert: HighLatency\n" in text) is duration
    if duration:
        assert f"rate({metrics.duration}_bucket[1m])" in text
    for alert in (
        "DatabaseDown",
        "NoDatabaseWriter",
        "TwoDatabaseWriters",
        "StandbyNotStreaming",
        "ReplicationLagHigh",
    ):
        assert (f"alert: {alert}\n" in text) is database


def test_the_socket_directory_must_be_this_users_own(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Its name under /tmp is predictable: a directory someone planted there (open to all, or a link to theirs)
    is refused, so no admin socket is created where another user can reach it."""
    from gantry.errors import GantryError
    from gantry.paths import private_directory

    fresh = private_directory(tmp_path / "fresh")
    assert fresh.stat().st_mode & 0o777 == 0o700
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    with pytest.raises(GantryError, match=r"open to other users \(mode 0o777\)"):
        private_directory(planted)
    elsewhere = tmp_path / "theirs"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(elsewhere)
    with pytest.raises(GantryError, match=r"not this user's own directory"):
        private_directory(tmp_path / "link")


def test_the_engine_socket_fits_a_unix_socket_path_however_deep_the_run_directory(  # type: ignore[no-untyped-def]
    tmp_path, monkeypatch
) -> None:
    """A UNIX socket's path may not exceed 107 bytes: a run directory deep in a workspace (a CI worker's temporary
    directory passed it) keeps its sockets in a short directory named after it."""
    from gantry.host import engine
    from gantry.paths import socket_dir

    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 6, ".gantry")
    monkeypatch.setenv("GANTRY_HOME", str(deep))
    socket = engine.podman_socket()
    assert len(str(deep / "engine" / "podman.sock")) > 107 and len(str(socket)) <= 107
    assert socket.parent == socket_dir(deep) and socket_dir(deep) != socket_dir(tmp_path / ".gantry")


def test_a_running_engine_is_reached_only_through_this_users_own_socket(  # type: ignore[no-untyped-def]
    tmp_path, monkeypatch
) -> None:
    """The socket directory's name under /tmp is predictable. With a podman service already recorded as running
    (so nothing is started), a directory someone else made there, or anything but this user's socket in it, is
    refused before gantry connects. (The running service is a record here, not a process: what is tested is
    the check before connecting; tests/local starts the real one.)"""
    from gantry.errors import EngineError, GantryError
    from gantry.host import engine, processes
    from gantry.paths import socket_dir

    home = tmp_path / "home"
    monkeypatch.setenv("GANTRY_HOME", str(home))
    monkeypatch.setattr(processes, "lookup", lambda name: {"fingerprint": "recorded", "pid": 1})
    monkeypatch.setattr(processes, "stop", lambda name: None)
    planted = socket_dir(home)
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    try:
        with pytest.raises(GantryError, match="open to other users"):
            engine._podman({})
        planted.chmod(0o700)
        (planted / "podman.sock").write_text("not a socket")
        with pytest.raises(EngineError, match="is not this user's podman socket"):
            engine._podman({})
    finally:
        shutil.rmtree(planted, ignore_errors=True)
