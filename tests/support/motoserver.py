"""One way to run a local AWS API for tests: `moto_server` as a real HTTP process on 127.0.0.1.

Used by tests/aws (the aws target), tests/ansible (patch.yml's ECS drain) and tests/terraform (apply/destroy).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / ".venv" / "bin" / "moto_server"


@contextmanager
def moto_server(port: int, settings: Mapping[str, str] | None = None) -> Iterator[str]:
    """Start moto on 127.0.0.1:port with extra MOTO_* settings, yield its URL, stop it on exit."""
    if not SERVER.exists():
        raise RuntimeError(f"{SERVER} is missing: run `make bootstrap` (moto[server] is a pinned dev dependency)")
    proc = subprocess.Popen(
        [str(SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(settings or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on {url}") from None
                time.sleep(0.2)
        yield url
    finally:
        # Werkzeug shuts down promptly on SIGINT; SIGTERM waits for its worker threads.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
