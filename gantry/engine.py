"""The container engine behind the Docker Engine API.

A Docker engine is used when one answers (DOCKER_HOST, or /var/run/docker.sock). Otherwise gantry starts
Debian's podman with its Docker-compatible socket under the run directory, configured only through
environment variables (CONTAINERS_CONF, CONTAINERS_REGISTRIES_CONF): no system-wide file is touched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import docker
from docker.errors import DockerException

from gantry.errors import EngineError
from gantry.local import processes
from gantry.paths import project_root, run_dir

SYSTEM_SOCKET = Path("/var/run/docker.sock")
SERVICE_NAME = "podman-service"


def engine_dir() -> Path:
    return run_dir() / "engine"


def podman_socket() -> Path:
    return engine_dir() / "podman.sock"


def registries_conf(insecure_registries: list[str]) -> str:
    """registries.conf marking the local plain-HTTP registries insecure (they listen on 127.0.0.1 only)."""
    lines = ["unqualified-search-registries = []", ""]
    for location in sorted(set(insecure_registries)):
        lines += ["[[registry]]", f'location = "{location}"', "insecure = true", ""]
    return "\n".join(lines)


def engine_environment(insecure_registries: list[str]) -> dict[str, str]:
    """Environment for podman/skopeo child processes: the project's containers.conf and registries.conf."""
    conf_dir = engine_dir()
    conf_dir.mkdir(parents=True, exist_ok=True)
    registries = conf_dir / "registries.conf"
    text = registries_conf(insecure_registries)
    if not registries.is_file() or registries.read_text() != text:
        registries.write_text(text)
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = os.environ.get(
        "CONTAINERS_CONF", str(project_root() / "config" / "podman" / "containers.conf")
    )
    env["CONTAINERS_REGISTRIES_CONF"] = str(registries)
    return env


def _ping(base_url: str) -> docker.DockerClient | None:
    try:
        client = docker.DockerClient(base_url=base_url, timeout=300)
        client.ping()
        return client
    except DockerException:
        return None


def connect(insecure_registries: list[str]) -> docker.DockerClient:
    """A client for a running engine, starting podman's service when no Docker engine answers."""
    if host := os.environ.get("DOCKER_HOST"):
        client = _ping(host)
        if client is None:
            raise EngineError(f"no container engine answers at DOCKER_HOST={host}: start it or unset DOCKER_HOST")
        return client
    if SYSTEM_SOCKET.exists() and (client := _ping(f"unix://{SYSTEM_SOCKET}")):
        return client
    return _podman(insecure_registries)


def _podman(insecure_registries: list[str]) -> docker.DockerClient:
    podman = shutil.which("podman")
    if podman is None:
        raise EngineError("no Docker engine and no podman found: run `make bootstrap` (installs podman)")
    env = engine_environment(insecure_registries)
    socket = podman_socket()
    # The registries.conf is read once at service start: restart the service when it changed.
    fingerprint = hashlib.sha256(
        (Path(env["CONTAINERS_REGISTRIES_CONF"]).read_text() + env["CONTAINERS_CONF"]).encode()
    ).hexdigest()[:16]
    running = processes.lookup(SERVICE_NAME)
    if running and running.get("fingerprint") != fingerprint:
        processes.stop(SERVICE_NAME)
    if not processes.lookup(SERVICE_NAME):
        socket.unlink(missing_ok=True)
        processes.start(
            SERVICE_NAME,
            [podman, "system", "service", "--time=0", f"unix://{socket}"],
            env=env,
            ready=lambda: _ping(f"unix://{socket}") is not None,
            timeout=60,
            extra={"fingerprint": fingerprint},
        )
    client = _ping(f"unix://{socket}")
    if client is None:
        raise EngineError(
            f"podman's API socket {socket} does not answer: see {processes.log_path(SERVICE_NAME)}, "
            "then `gantry down` and retry"
        )
    return client
