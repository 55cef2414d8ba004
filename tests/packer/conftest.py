"""Fixtures for the Packer checks: the project's Packer binary and a moto server on the packer port range."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gantry.bake import packer
from gantry.errors import GantryError
from gantry.host import ports

PORT_RANGE = range(22000, 23000)  # packer helper's ports (see conventions)
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    return ports.free_port(PORT_RANGE.start, PORT_RANGE.stop)


@pytest.fixture(scope="session")
def packer_bin() -> Path:
    try:
        return packer.packer_binary()
    except GantryError as exc:
        pytest.skip(f"{exc} (scripts/setup-packer.sh builds it; make test runs that first)")


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real moto server process on 127.0.0.1 (not the in-process mock), as the aws target uses it."""
    server = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
    if server is None:
        pytest.skip("moto_server not installed: run `make bootstrap` (moto[server] is a dev dependency)")
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"moto_server did not start on port {port}")
            time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # werkzeug's threaded server may ignore SIGTERM mid-request
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(autouse=True)
def _dummy_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test reach real AWS with a developer's credentials."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
