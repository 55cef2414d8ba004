"""Notification sinks against the real webhook receiver process (python -m gantry.targets.local.webhook)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from runs import run_record

from gantry.host.ports import free_port
from gantry.stages import notify

RUN = run_record(
    sha="a" * 40,
    digest="sha256:" + "b" * 64,
    approval={"approver": "alice"},
    stages=[
        {"name": "build", "status": "ok", "seconds": 3.5, "finished_at": 1.0},
        {"name": "deploy production", "status": "ok", "seconds": 9.25, "finished_at": 2.0},
    ],
)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gantry.targets.local.webhook", "--port", str(port), "--dir", str(tmp_path)]
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.05)
    yield url, tmp_path
    proc.terminate()
    proc.wait(5)


def test_event_schema(cfg) -> None:  # type: ignore[no-untyped-def]
    event = notify.event(cfg, RUN, "success")
    assert event["schema"] == 1 and event["status"] == "success" and event["approver"] == "alice"
    assert event["durations"] == {"build": 3.5, "deploy production": 9.25} and event["total_seconds"] == 12.75
    assert event["sha"] == RUN.sha and event["digest"] == RUN.digest and event["customer"] == "example"


def test_file_and_webhook_sinks_deliver(cfg, tmp_path: Path, receiver) -> None:  # type: ignore[no-untyped-def]
    url, inbox = receiver
    event = notify.event(cfg, RUN, "failure", stage="deploy production", message="boom")
    sinks = [notify.FileSink(tmp_path / "events.jsonl"), notify.WebhookSink(f"{url}/pipeline")]
    assert notify.send(event, sinks) == []
    assert json.loads((tmp_path / "events.jsonl").read_text())["failed_stage"] == "deploy production"
    received = json.loads((inbox / "notifications.jsonl").read_text())
    assert received["body"] == event


def test_failing_sink_is_reported_not_hidden(cfg, receiver) -> None:  # type: ignore[no-untyped-def]
    url, _ = receiver
    closed = f"http://127.0.0.1:{free_port()}/pipeline"
    failures = notify.send(
        notify.event(cfg, RUN, "success"), [notify.WebhookSink(closed), notify.WebhookSink(f"{url}/nowhere")]
    )
    assert len(failures) == 2
    assert "ConnectionError" in failures[0] and "HTTP 404" in failures[1]


def test_slack_url_comes_from_the_environment(write_config, example, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gantry.config import load_config
    from gantry.errors import GantryError

    example["notifications"]["slack_webhook_url_env"] = "GANTRY_TEST_SLACK_URL"
    configured = load_config(str(write_config(example)))
    monkeypatch.delenv("GANTRY_TEST_SLACK_URL", raising=False)
    with pytest.raises(GantryError, match=r"names \$GANTRY_TEST_SLACK_URL, which is not set"):
        notify.sinks(configured, [])
    monkeypatch.setenv("GANTRY_TEST_SLACK_URL", "http://127.0.0.1:9/hook")
    assert [s.name for s in notify.sinks(configured, [])][-1] == "slack"
