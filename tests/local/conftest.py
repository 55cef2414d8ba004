"""Fixture: a private local target for the integration tests (see local_stack.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from local_stack import GANTRY, PORTS, ROOT, Stack


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
        "us-east-1": {
            "registry_port": PORTS["registries"][0],
            "lb_ports": {"staging": PORTS["staging"], "production": PORTS["production"][0]},
        },
        "us-west-2": {"registry_port": PORTS["registries"][1], "lb_ports": {"production": PORTS["production"][1]}},
    }
    data["local"].update(
        prometheus_port=PORTS["prometheus"],
        alertmanager_port=PORTS["alertmanager"],
        webhook_port=PORTS["webhook"],
        drain_seconds=1,
        health_timeout_seconds=45,
    )
    data["notifications"]["webhook_urls"] = [f"http://127.0.0.1:{PORTS['webhook']}/pipeline"]
    config = base / "env.yaml"
    config.write_text(yaml.safe_dump(data))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GANTRY_", "DOCKER_HOST"))}
    env.update(
        GANTRY_ROOT=str(repo),
        GANTRY_HOME=str(base / "home"),
        GANTRY_CACHE=str(ROOT / ".cache"),
        CONTAINERS_CONF=str(ROOT / "config/podman/containers.conf"),
    )
    made = Stack(repo, base / "home", config, env)
    yield made
    made.gantry("down", ok=False)
