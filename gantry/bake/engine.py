"""Which container CLI Packer's docker builder drives, and where bakes keep their files.

No Docker daemon runs here, and podman 4.3's Docker-compatible API rejects the docker CLI's `commit` request
("Decode(): EOF"), so the builder drives podman's own CLI (`docker_path = podman`): same verbs, no socket.
Where a Docker engine is configured (DOCKER_HOST set, e.g. a CI agent with Docker), the docker CLI is used.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gantry.errors import EngineError
from gantry.paths import project_root, run_dir


def bake_dir() -> Path:
    return run_dir() / "packer"


def containers_conf() -> str:
    return os.environ.get("CONTAINERS_CONF") or str(project_root() / "config" / "podman" / "containers.conf")


def container_cli() -> tuple[str, dict[str, str]]:
    """(executable for Packer's `docker_path`, extra environment for it)."""
    if os.environ.get("DOCKER_HOST"):
        docker = shutil.which("docker")
        if docker is None:
            raise EngineError("DOCKER_HOST is set but no docker CLI is installed: install it or unset DOCKER_HOST")
        return docker, {}
    podman = shutil.which("podman")
    if podman is None:
        raise EngineError("podman not found: run scripts/setup-packer.sh (installs podman and runc)")
    return podman, {"CONTAINERS_CONF": containers_conf()}
