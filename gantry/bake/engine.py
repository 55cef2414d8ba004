"""Which container CLI Packer's docker builder drives, and where bakes keep their files.

No Docker daemon runs here, and podman 4.3's Docker-compatible API rejects the docker CLI's `commit` request
("Decode(): EOF"), so the builder drives podman's own CLI (`docker_path = podman`): same verbs, no socket.
Even with DOCKER_HOST pointing at podman's socket (the local stack sets one up) podman's CLI is the route that
works; the docker CLI is used only where podman is absent (a CI agent with a real Docker engine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from gantry.errors import EngineError
from gantry.host import podman as podman_config
from gantry.paths import run_dir


def bake_dir() -> Path:
    return run_dir() / "packer"


def container_cli() -> tuple[str, dict[str, str]]:
    """(executable for Packer's `docker_path`, extra environment for it)."""
    podman = shutil.which("podman")
    if podman is not None:
        return podman, podman_config.environment()
    docker = shutil.which("docker")
    if docker is not None and os.environ.get("DOCKER_HOST"):
        return docker, {}
    raise EngineError("podman not found: run scripts/setup-packer.sh (installs podman and runc)")


def _podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=podman_config.cli_environment(), capture_output=True, text=True, check=False, timeout=120
    )


def local_image_id(ref: str) -> str | None:
    """`sha256:<id>` of a local image, or None when it does not exist (or podman is missing)."""
    if shutil.which("podman") is None:
        return None
    result = _podman("image", "inspect", "--format", "{{.Id}}", ref)
    if result.returncode != 0 or not result.stdout.strip():
        return None
    return "sha256:" + result.stdout.strip().removeprefix("sha256:")


def remove_if_unused(image_id: str) -> bool:
    """Drop a previous bake's image once the tag moved on; podman refuses (and we keep it) while a container
    or a derived image still uses it."""
    return _podman("rmi", image_id.removeprefix("sha256:")).returncode == 0
