"""Long-running helper processes (registries, HAProxy, Prometheus...) started in their own session, with
logs and pids recorded under the run directory so `gantry down` finds and stops every one of them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
from filelock import FileLock

from gantry import jsonfile
from gantry.errors import GantryError
from gantry.paths import run_dir


def _registry_path() -> Path:
    return run_dir() / "processes.json"


@contextlib.contextmanager
def _registry() -> Iterator[dict[str, dict[str, Any]]]:
    path = _registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=60):
        entries: dict[str, dict[str, Any]] = jsonfile.read(path) if path.is_file() else {}
        yield entries
        jsonfile.write_atomic(path, entries)


def log_path(name: str) -> Path:
    return run_dir() / "logs" / f"{name}.log"


def _alive(entry: dict[str, Any]) -> bool:
    try:
        proc = psutil.Process(entry["pid"])
        return proc.create_time() == entry["create_time"] and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, KeyError):
        return False


def lookup(name: str) -> dict[str, Any] | None:
    """The recorded process if it still runs (a recycled pid does not count)."""
    if not _registry_path().is_file():
        return None  # nothing was ever started here: a lookup creates no run directory
    with _registry() as entries:
        entry = entries.get(name)
        if entry and not _alive(entry):
            del entries[name]
            return None
        return entry


def all_running() -> dict[str, dict[str, Any]]:
    if not _registry_path().is_file():
        return {}
    with _registry() as entries:
        return {name: entry for name, entry in entries.items() if _alive(entry)}


def start(
    name: str,
    argv: list[str],
    *,
    ready: Callable[[], bool],
    timeout: float = 30,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start `argv` detached (own session, survives this command) and wait until `ready()` is true."""
    log = log_path(name)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=cwd,
        )
    entry = {
        "pid": proc.pid,
        "create_time": psutil.Process(proc.pid).create_time(),
        "argv": argv,
        "log": str(log),
        **(extra or {}),
    }
    with _registry() as entries:
        entries[name] = entry
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with _registry() as entries:
                entries.pop(name, None)
            raise GantryError(f"{name} exited at start (code {proc.returncode}): {_last_line(log)} (log: {log})")
        if _probe(ready):
            return entry
        time.sleep(0.2)
    stop(name)
    raise GantryError(f"{name} did not become ready within {timeout:.0f} s: see {log}")


def _probe(ready: Callable[[], bool]) -> bool:
    # Until the service is up, a readiness probe may fail in any way (refused, reset, bad reply).
    with contextlib.suppress(Exception):
        return ready()
    return False


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def signal_process(name: str, sig: signal.Signals) -> None:
    entry = lookup(name)
    if entry is None:
        raise GantryError(f"{name} is not running: run `gantry up`")
    os.kill(entry["pid"], sig)


def stop(name: str, timeout: float = 10) -> bool:
    """Stop the process group of `name`; True when something was stopped."""
    with _registry() as entries:
        entry = entries.pop(name, None)
    if not entry or not _alive(entry):
        return False
    _terminate_group(entry["pid"], timeout)
    return True


def kill(name: str) -> bool:
    """SIGKILL `name` and its children at once, as losing the machine would (no clean shutdown); True when
    something was killed. The registry entry stays, so status shows it as stopped."""
    entry = lookup(name)
    if entry is None:
        return False
    try:
        root = psutil.Process(entry["pid"])
        group = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return False
    for proc in group:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(group, timeout=5)
    return True


def _terminate_group(pid: int, timeout: float) -> None:
    try:
        root = psutil.Process(pid)
        group = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in group:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(group, timeout=timeout)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
