"""The bad-input harness: `gantry` itself (its `main`, in this process, for speed) given one bad input at a time,
with a run directory of its own, and what it left behind."""

from __future__ import annotations

import faulthandler
import hashlib
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gantry import cli
from gantry.stages import progress

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "environments/example/local.yaml"


def tree(path: Path) -> dict[str, str]:
    """Every file under `path` and a hash of its bytes (an absent directory is an empty tree)."""
    if not path.exists():
        return {}
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def repository_state() -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=all"], capture_output=True, text=True
    ).stdout


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        """stderr without the stage progress lines (a stage that started and failed prints them)."""
        progress = ("▶", "✓", "✗", "  ")
        return [line for line in self.stderr.splitlines() if line.strip() and not line.startswith(progress)]


@dataclass
class Gantry:
    home: Path
    config: Path
    capfd: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def configure(self, edit: Callable[[dict[str, Any]], Any] | None = None, text: str | None = None) -> None:
        """The environment file: the example with `edit` applied, or `text` as it is."""
        if text is not None:
            self.config.write_text(text)
            return
        data = yaml.safe_load(EXAMPLE.read_text())
        # Events go to the run directory's file only: never to a webhook another stack on this machine serves.
        data["notifications"]["webhook_urls"] = []
        if edit is not None:
            edit(data)
        self.config.write_text(yaml.safe_dump(data))

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Outcome:
        for key, value in (env or {}).items():
            self.monkeypatch.setenv(key, value)
        self.monkeypatch.setattr(sys, "argv", ["gantry", "--config", str(self.config), *args])
        progress.failed_here.clear()
        self.capfd.readouterr()
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        code = 0
        try:
            cli.main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            faulthandler.unregister(signal.SIGUSR1)
        captured = self.capfd.readouterr()
        return Outcome(code, captured.out, captured.err)


@pytest.fixture
def gantry(tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Gantry]:
    home = tmp_path / "home"
    for key in ("GANTRY_RUN_ID", "GANTRY_CONFIG", "DOCKER_HOST"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GANTRY_HOME", str(home))
    monkeypatch.setenv("GANTRY_ROOT", str(ROOT))
    made = Gantry(home, tmp_path / "env.yaml", capfd, monkeypatch)
    made.configure()
    yield made
