"""The container engine behind the Docker Engine API.

A Docker engine is used when one answers (DOCKER_HOST, or /var/run/docker.sock); its image store is the
daemon's. Otherwise gantry starts Debian's podman with its Docker-compatible socket in the run directory's short
socket directory (gantry.paths.socket_dir: this user's own, mode 0700, checked before every connection),
configured only through environment variables (gantry.host.podman: the project's containers.conf and its own
image store; CONTAINERS_REGISTRIES_CONF for the plain-HTTP registries the caller names): no system file is
touched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path

import docker
import requests
from docker.errors import DockerException

from gantry.errors import EngineError
from gantry.host import podman, processes
from gantry.paths import private_directory, run_dir, socket_dir

SYSTEM_SOCKET = Path("/var/run/docker.sock")
SERVICE_NAME = "podman-service"

# Every container gantry starts carries the run directory it belongs to, so `gantry down` finds all of them.
CONTAINER_LABEL = "gantry.home"


def engine_dir() -> Path:
    return run_dir() / "engine"


def podman_socket() -> Path:
    """The API socket, in the run directory's short socket directory: a UNIX socket's path may not exceed 107
    bytes, which a run directory deep in a workspace would pass."""
    return socket_dir(run_dir()) / "podman.sock"


def registries_conf(insecure_registries: Mapping[str, str]) -> str:
    """registries.conf for plain-HTTP registries on 127.0.0.1: each name (a registry host the images are
    named after) is served at its location, marked insecure. Pulls follow the mapping; pushes do not."""
    lines = ["unqualified-search-registries = []", ""]
    for prefix, location in sorted(insecure_registries.items()):
        lines += ["[[registry]]", f'prefix = "{prefix}"', f'location = "{location}"', "insecure = true", ""]
    return "\n".join(lines)


def engine_environment(insecure_registries: Mapping[str, str]) -> dict[str, str]:
    """Environment for podman/skopeo child processes: the project's podman files and registries.conf."""
    conf_dir = engine_dir()
    conf_dir.mkdir(parents=True, exist_ok=True)
    registries = conf_dir / "registries.conf"
    text = registries_conf(insecure_registries)
    if not registries.is_file() or registries.read_text() != text:
        registries.write_text(text)
    return {**podman.cli_environment(), "CONTAINERS_REGISTRIES_CONF": str(registries)}


def _ping(base_url: str) -> docker.DockerClient | None:
    try:
        client = docker.DockerClient(base_url=base_url, timeout=300)
        client.ping()
        return client
    except (DockerException, requests.RequestException):
        return None


def connect(insecure_registries: Mapping[str, str]) -> docker.DockerClient:
    """A client for a running engine, starting podman's service when no Docker engine answers."""
    if host := os.environ.get("DOCKER_HOST"):
        client = _ping(host)
        if client is None:
            raise EngineError(f"no container engine answers at DOCKER_HOST={host}: start it or unset DOCKER_HOST")
        return client
    if SYSTEM_SOCKET.exists() and (client := _ping(f"unix://{SYSTEM_SOCKET}")):
        return client
    return _podman(insecure_registries)


def _own_socket(path: Path) -> None:
    """`path` is a UNIX socket of this user's (the one its podman service made), not anything put in its place."""
    try:
        found = path.lstat()
    except FileNotFoundError:
        return  # nothing to connect to: the ping below says so
    if not stat.S_ISSOCK(found.st_mode) or found.st_uid != os.geteuid():
        raise EngineError(f"{path} is not this user's podman socket: remove it (it may have been planted), then retry")


def _podman(insecure_registries: Mapping[str, str]) -> docker.DockerClient:
    binary = shutil.which("podman")
    if binary is None:
        raise EngineError("no Docker engine and no podman found: run `make bootstrap` (installs podman)")
    env = engine_environment(insecure_registries)
    socket = podman_socket()
    # podman reads its configuration once, at service start: restart the service when any of it, or the socket's
    # path, changed.
    fingerprint = hashlib.sha256(
        "\n".join(
            [
                Path(env["CONTAINERS_REGISTRIES_CONF"]).read_text(),
                env[podman.CONTAINERS_CONF],
                env[podman.STORAGE_CONF],
                str(socket),
            ]
        ).encode()
    ).hexdigest()[:16]
    running = processes.lookup(SERVICE_NAME)
    if running and running.get("fingerprint") != fingerprint:
        processes.stop(SERVICE_NAME)
    # The directory's name under /tmp is predictable: it is checked before every connection, not only at start
    # (a service left running, or `down` removing the directory under a running command, must not send this
    # user's requests to a socket someone else planted).
    private_directory(socket.parent)
    if not processes.lookup(SERVICE_NAME):
        socket.unlink(missing_ok=True)
        processes.start(
            SERVICE_NAME,
            [binary, "system", "service", "--time=0", f"unix://{socket}"],
            env=env,
            ready=lambda: _ping(f"unix://{socket}") is not None,
            timeout=60,
            extra={"fingerprint": fingerprint},
        )
    _own_socket(socket)
    client = _ping(f"unix://{socket}")
    if client is None:
        raise EngineError(
            f"podman's API socket {socket} does not answer: see {processes.log_path(SERVICE_NAME)}, "
            "then `gantry down` and retry"
        )
    return client
