"""Helpers for the local-target integration tests: a clone of this repository, its own run directory,
its own ports (25xxx) and its own podman API service, all driven through the real `gantry` CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
GANTRY = ROOT / ".venv" / "bin" / "gantry"
PORTS = {
    "registries": (25001, 25002),
    "staging": 25081,
    "production": (25080, 25090),
    "prometheus": 25190,
    "alertmanager": 25193,
    "webhook": 25195,
}


@dataclass
class Stack:
    repo: Path
    home: Path
    config: Path
    env: dict[str, str]

    def gantry(
        self, *args: str, ok: bool = True, config: Path | None = None, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(GANTRY), "--config", str(config or self.config), *args],
            cwd=self.repo,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=900,
        )
        if ok and result.returncode != 0:
            raise AssertionError(f"gantry {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result

    def commit(self, path: str, text: str, message: str) -> str:
        (self.repo / path).write_text(text)
        subprocess.run(["git", "-C", str(self.repo), "commit", "-qam", message], check=True)
        return subprocess.run(
            ["git", "-C", str(self.repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()

    def serving(self, port: int) -> str:
        digest: str = requests.get(f"http://127.0.0.1:{port}/version", timeout=5).json()["digest"]
        return digest

    def run_record(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.gantry("run", "show").stdout)

    def kill(self, process: str) -> None:
        entry = json.loads((self.home / "processes.json").read_text())[process]
        os.kill(entry["pid"], signal.SIGKILL)

    def with_changes(self, name: str, **approvals: float) -> Path:
        data = yaml.safe_load(self.config.read_text())
        data["approvals"].update(approvals)
        path = self.config.with_name(name)
        path.write_text(yaml.safe_dump(data))
        return path
