"""A Docker Engine API for Packer's docker builder.

No Docker daemon runs here: podman's Docker-compatible service is started on a socket under the run directory
for the length of one bake, then stopped. An existing DOCKER_HOST is used as it is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from gantry.errors import EngineError
from gantry.paths import project_root, run_dir

START_TIMEOUT_SECONDS = 60.0


def bake_dir() -> Path:
    return run_dir() / "packer"


def containers_conf() -> str:
    return os.environ.get("CONTAINERS_CONF") or str(project_root() / "config" / "podman" / "containers.conf")


def _answers(path: Path) -> bool:
    """True when the socket accepts a connection and answers the Docker API's /_ping."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        sock.connect(str(path))
        sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: localhost\r\n\r\n")
        return b" 200 " in sock.recv(64)
    return False


@contextlib.contextmanager
def docker_host() -> Iterator[str]:
    """Yields a DOCKER_HOST that answers, starting (and afterwards stopping) podman's service if needed."""
    if existing := os.environ.get("DOCKER_HOST"):
        yield existing
        return
    podman = shutil.which("podman")
    if podman is None:
        raise EngineError("podman not found: run scripts/setup-packer.sh (installs podman and runc)")
    directory = bake_dir()
    directory.mkdir(parents=True, exist_ok=True)
    sock = directory / "podman.sock"
    sock.unlink(missing_ok=True)
    env = {**os.environ, "CONTAINERS_CONF": containers_conf()}
    log = (directory / "podman-service.log").open("ab")
    process = subprocess.Popen(
        [podman, "system", "service", "--time=0", f"unix://{sock}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(sock):
            if process.poll() is not None or time.monotonic() > deadline:
                raise EngineError(
                    f"podman's Docker API did not start on {sock}: see {directory}/podman-service.log"
                )
            time.sleep(0.2)
        yield f"unix://{sock}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        sock.unlink(missing_ok=True)
