"""A private local target for the integration tests: a clone of this repository, its own run directory,
its own ports (25xxx) and its own podman API service, all driven through the real `gantry` CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
GANTRY = ROOT / ".venv" / "bin" / "gantry"
PORTS = {"registries": (25001, 25002), "staging": 25081, "production": (25080, 25090),
         "prometheus": 25190, "alertmanager": 25193, "webhook": 25195}


@dataclass
class Stack:
    repo: Path
    home: Path
    config: Path
    env: dict[str, str]

    def gantry(self, *args: str, ok: bool = True, config: Path | None = None,
               extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(GANTRY), "--config", str(config or self.config), *args], cwd=self.repo,
                                env={**self.env, **(extra_env or {})}, capture_output=True, text=True, timeout=900)
        if ok and result.returncode != 0:
            raise AssertionError(f"gantry {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result

    def commit(self, path: str, text: str, message: str) -> str:
        (self.repo / path).write_text(text)
        subprocess.run(["git", "-C", str(self.repo), "commit", "-qam", message], check=True)
        return subprocess.run(["git", "-C", str(self.repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                              text=True).stdout.strip()

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


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not GANTRY.exists():
        pytest.skip("the virtualenv is missing: run `make bootstrap` (make test does)")
    base = tmp_path_factory.mktemp("local-target")
    repo = base / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    for key, value in (("user.email", "ci@gantry.invalid"), ("user.name", "gantry tests")):
        subprocess.run(["git", "-C", str(repo), "config", key, value], check=True)
    data = yaml.safe_load((ROOT / "environments/example/local.yaml").read_text())
    data["local"]["regions"] = {
        "us-east-1": {"registry_port": PORTS["registries"][0],
                      "lb_ports": {"staging": PORTS["staging"], "production": PORTS["production"][0]}},
        "us-west-2": {"registry_port": PORTS["registries"][1], "lb_ports": {"production": PORTS["production"][1]}},
    }
    data["local"].update(prometheus_port=PORTS["prometheus"], alertmanager_port=PORTS["alertmanager"],
                         webhook_port=PORTS["webhook"], drain_seconds=1, health_timeout_seconds=45)
    data["notifications"]["webhook_urls"] = [f"http://127.0.0.1:{PORTS['webhook']}/pipeline"]
    config = base / "env.yaml"
    config.write_text(yaml.safe_dump(data))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GANTRY_", "DOCKER_HOST"))}
    env.update(GANTRY_ROOT=str(repo), GANTRY_HOME=str(base / "home"), GANTRY_CACHE=str(ROOT / ".cache"),
               CONTAINERS_CONF=str(ROOT / "config/podman/containers.conf"))
    made = Stack(repo, base / "home", config, env)
    yield made
    made.gantry("down", ok=False)
