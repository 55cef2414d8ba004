"""The JSON run record: one file per pipeline run (stages, timings, digests, approver, result).

A run spans several processes when Jenkins calls one stage per step, so the run id comes from GANTRY_RUN_ID
(Jenkins: BUILD_TAG); without it, `gantry source` starts a new run and later commands continue the latest.
Updates take a file lock and replace the file atomically, so no record is ever half-written or lost.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from gantry import jsonfile
from gantry.errors import GantryError
from gantry.paths import run_dir


def runs_dir() -> Path:
    return run_dir() / "runs"


def new_run_id() -> str:
    return os.environ.get("GANTRY_RUN_ID") or (datetime.now(UTC).strftime("run-%Y%m%dT%H%M%SZ-") + secrets.token_hex(2))


def current_run_id() -> str:
    if run_id := os.environ.get("GANTRY_RUN_ID"):
        return run_id
    latest = runs_dir() / "LATEST"
    if not latest.is_file():
        raise GantryError("no pipeline run yet: start one with `gantry source` (or `gantry pipeline run`)")
    return latest.read_text().strip()


def path_of(run_id: str) -> Path:
    if not run_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise GantryError(f"invalid run id '{run_id}': use letters, digits, '-', '_' or '.'")
    return runs_dir() / f"{run_id}.json"


def start(customer: str, service: str, config: str) -> str:
    run_id = new_run_id()
    path = path_of(run_id)
    if not path.exists():
        jsonfile.write_atomic(
            path,
            {
                "run_id": run_id,
                "customer": customer,
                "service": service,
                "config": config,
                "started_at": datetime.now(UTC).isoformat(),
                "result": "running",
                "stages": [],
            },
        )
    (runs_dir() / "LATEST").write_text(run_id + "\n")
    return run_id


def load(run_id: str | None = None) -> dict[str, Any]:
    path = path_of(run_id or current_run_id())
    if not path.is_file():
        raise GantryError(f"run record {path} not found: start the run with `gantry source`")
    record: dict[str, Any] = jsonfile.read(path)
    return record


@contextlib.contextmanager
def update(run_id: str | None = None) -> Iterator[dict[str, Any]]:
    path = path_of(run_id or current_run_id())
    with FileLock(str(path) + ".lock", timeout=60):
        record = load(run_id or current_run_id())
        yield record
        record["updated_at"] = datetime.now(UTC).isoformat()
        jsonfile.write_atomic(path, record)


def set_fields(**fields: Any) -> None:
    with update() as record:
        record.update(fields)


def add_stage(name: str, status: str, seconds: float, detail: str = "") -> None:
    with update() as record:
        record["stages"].append(
            {"name": name, "status": status, "seconds": round(seconds, 2), "detail": detail, "finished_at": time.time()}
        )
        if status == "failed":
            record["result"] = "failed"
            record["failed_stage"] = name
