"""The run record: one typed JSON file per pipeline run (stages, timings, digests, approval, result).

A run spans several processes when Jenkins calls one stage per step, so the run id comes from GANTRY_RUN_ID
(Jenkins: BUILD_TAG); without it, `gantry source` (or `gantry pipeline run`) starts a new run and a later
standalone command continues the latest one. The id is resolved once per command and every update names it:
two runs in one checkout never write into each other's record. Updates hold a file lock and replace the file
atomically, so no record is ever half-written or lost.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import psutil
from filelock import FileLock
from pydantic import BaseModel, ConfigDict

from gantry import jsonfile
from gantry.errors import ConfigError, GantryError
from gantry.names import Digest, Sha, printable
from gantry.paths import run_dir

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
Result = Literal["running", "success", "failed", "aborted", "interrupted"]
DeploymentState = Literal["intended", "rolling", "done", "failed", "rolled-back"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageResult(Model):
    name: str
    status: Literal["ok", "failed", "interrupted"]
    seconds: float
    detail: str = ""
    finished_at: float


class ReleaseRef(Model):
    sha: Sha
    digest: Digest


class Deployment(Model):
    """What this run's deploys did to one environment in one region."""

    env: str
    region: str
    release: ReleaseRef
    previous: ReleaseRef | None = None
    state: DeploymentState = "intended"
    changed: bool = False


class Notification(Model):
    status: str
    sent_at: float
    failures: list[str] = []


class RunRecord(Model):
    schema_version: int = 1
    run_id: str
    customer: str
    service: str
    config: str
    target: str
    started_at: datetime
    # The process that started the run: a "running" record whose process is gone was interrupted.
    pid: int
    pid_started: float
    host: str
    result: Result = "running"
    stages: list[StageResult] = []
    sha: Sha | None = None
    tag: str | None = None
    tree: Sha | None = None
    dirty: bool = False
    base_image: str | None = None
    local_image: str | None = None
    built: bool | None = None
    digest: Digest | None = None
    references: dict[str, str] = {}
    smoke: dict[str, list[dict[str, Any]]] = {}
    staging_passed_at: float | None = None
    approval: dict[str, Any] | None = None
    deployments: dict[str, Deployment] = {}
    notification: Notification | None = None
    failed_stage: str | None = None
    error: str | None = None
    log: str | None = None
    finished_at: float | None = None
    total_seconds: float | None = None
    updated_at: datetime | None = None

    def deployment_key(self, env: str, region: str) -> str:
        return f"{env}/{region}"

    @property
    def finished(self) -> bool:
        return self.result != "running"

    def process_alive(self) -> bool:
        """True while the process that started this run still runs (on this host)."""
        if self.host != socket.gethostname():
            return True  # another machine's run: assume alive
        try:
            return psutil.Process(self.pid).create_time() == self.pid_started
        except psutil.NoSuchProcess:
            return False


def runs_dir() -> Path:
    return run_dir() / "runs"


def check_run_id(run_id: str) -> str:
    if not RUN_ID.fullmatch(run_id):
        raise ConfigError(f"invalid run id {printable(run_id)}: use letters, digits, '-', '_' or '.' (at most 200)")
    return run_id


def path_of(run_id: str) -> Path:
    return runs_dir() / f"{check_run_id(run_id)}.json"


def new_run_id() -> str:
    if run_id := os.environ.get("GANTRY_RUN_ID"):
        return check_run_id(run_id)
    return datetime.now(UTC).strftime("run-%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def latest_run_id() -> str | None:
    """GANTRY_RUN_ID, else the run `gantry source` started last in this checkout."""
    if run_id := os.environ.get("GANTRY_RUN_ID"):
        return check_run_id(run_id)
    latest = runs_dir() / "LATEST"
    if not latest.is_file():
        return None
    run_id = latest.read_text().strip()
    if not RUN_ID.fullmatch(run_id):
        raise ConfigError(f"{latest} names no valid run: delete it (the next `gantry source` writes it again)")
    return run_id


def require_run_id() -> str:
    run_id = latest_run_id()
    if run_id is None:
        raise GantryError("no pipeline run yet: start one with `gantry source` (or `gantry pipeline run`)")
    return run_id


def exists(run_id: str) -> bool:
    return path_of(run_id).is_file()


def load(run_id: str) -> RunRecord:
    path = path_of(run_id)
    if not path.is_file():
        raise GantryError(f"run record {path} not found: start the run with `gantry source`")
    return jsonfile.load(path, RunRecord, fix="move it aside and start a new run with `gantry source`")


def create(run_id: str, *, customer: str, service: str, config: str, target: str) -> RunRecord:
    """A new record for `run_id` (kept when it exists: Jenkins re-runs a stage under the same id)."""
    path = path_of(run_id)
    with _lock(path):
        if path.is_file():
            record = load(run_id)
        else:
            me = psutil.Process()
            record = RunRecord(
                run_id=run_id,
                customer=customer,
                service=service,
                config=config,
                target=target,
                started_at=datetime.now(UTC),
                pid=me.pid,
                pid_started=me.create_time(),
                host=socket.gethostname(),
            )
            _write(path, record)
        jsonfile.write_atomic_text(runs_dir() / "LATEST", run_id + "\n")
    return record


@contextlib.contextmanager
def update(run_id: str) -> Iterator[RunRecord]:
    """Change the record of `run_id` under its lock; written back atomically when the block ends."""
    path = path_of(run_id)
    with _lock(path):
        record = load(run_id)
        yield record
        record.updated_at = datetime.now(UTC)
        _write(path, record)


def all_records() -> list[RunRecord]:
    found = []
    for path in sorted(runs_dir().glob("*.json")):
        with contextlib.suppress(GantryError):
            found.append(load(path.stem))
    return found


def _lock(path: Path) -> FileLock:
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path) + ".lock", timeout=60)


def _write(path: Path, record: RunRecord) -> None:
    jsonfile.write_atomic(path, record.model_dump(mode="json"))


def add_stage(run_id: str, name: str, status: str, seconds: float, detail: str = "") -> None:
    with update(run_id) as record:
        record.stages.append(
            StageResult.model_validate(
                {
                    "name": name,
                    "status": status,
                    "seconds": round(seconds, 2),
                    "detail": detail,
                    "finished_at": time.time(),
                }
            )
        )
        if status != "ok":
            record.failed_stage = name
            if record.result == "running":
                record.result = "failed" if status == "failed" else "interrupted"


def finish(run_id: str, result: Result, error: str | None, *, log: str | None = None) -> RunRecord:
    with update(run_id) as record:
        started = record.started_at.timestamp()
        record.result = result
        record.error = error
        record.log = log or record.log
        record.finished_at = time.time()
        record.total_seconds = round(record.finished_at - started, 2)
    return record
