"""Run records for tests that need one without running a pipeline."""

from __future__ import annotations

from typing import Any

from gantry.runrecord import RunRecord


def run_record(**fields: Any) -> RunRecord:
    base: dict[str, Any] = {
        "run_id": "run-1",
        "customer": "example",
        "service": "cart",
        "config": "env.yaml",
        "target": "local",
        "started_at": "2026-12-01T00:00:00Z",
        "pid": 1,
        "pid_started": 0.0,
        "host": "ci",
    }
    return RunRecord.model_validate({**base, **fields})
