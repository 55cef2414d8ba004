"""Stage 8, notify: one event schema, delivered to every configured sink (file, webhooks, Slack, and the
target's own, e.g. SNS on aws). A sink that fails is reported; it never hides the pipeline's result."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.paths import run_dir
from gantry.runrecord import RunRecord
from gantry.targets.base import NotificationSink

SCHEMA_VERSION = 1


def event(
    cfg: GantryConfig, run: RunRecord | None, status: str, *, stage: str | None = None, message: str | None = None
) -> dict[str, Any]:
    stages = run.stages if run else []
    return {
        "schema": SCHEMA_VERSION,
        "type": "pipeline",
        "status": status,
        "customer": cfg.customer,
        "service": cfg.service.name,
        "run_id": run.run_id if run else None,
        "sha": run.sha if run else None,
        "digest": run.digest if run else None,
        "approver": ((run.approval or {}).get("approver") if run else None),
        "failed_stage": stage or (run.failed_stage if run else None),
        "message": message,
        "durations": {s.name: s.seconds for s in stages},
        "total_seconds": round(sum(s.seconds for s in stages), 2),
        "time": datetime.now(UTC).isoformat(),
    }


class FileSink:
    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, event: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as out:
            out.write(json.dumps(event, sort_keys=True) + "\n")


class _Retryable(Exception):
    pass


@retry(
    retry=retry_if_exception_type(_Retryable),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.3, max=2),
    reraise=True,
)
def _post(url: str, payload: dict[str, Any]) -> None:
    try:
        response = requests.post(url, json=payload, timeout=5)
    except requests.RequestException as exc:
        raise _Retryable(exc.__class__.__name__) from None
    if response.status_code >= 500:
        raise _Retryable(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise GantryError(f"HTTP {response.status_code}")


class WebhookSink:
    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"webhook {url}"

    def send(self, event: dict[str, Any]) -> None:
        try:
            _post(self.url, event)
        except _Retryable as exc:
            raise GantryError(f"{exc}") from None


class SlackSink:
    """Slack incoming webhook; the URL is a secret, so it comes from an environment variable and is never logged."""

    name = "slack"

    def __init__(self, url: str) -> None:
        self._url = url

    def send(self, event: dict[str, Any]) -> None:
        icon = ":white_check_mark:" if event["status"] == "success" else ":x:"
        text = (
            f"{icon} {event['customer']}/{event['service']} {event['status']}"
            f" — sha {str(event.get('sha'))[:12]} digest {str(event.get('digest'))[:19]}"
            f"{' — failed at ' + event['failed_stage'] if event.get('failed_stage') else ''}"
        )
        try:
            _post(self._url, {"text": text})
        except _Retryable as exc:
            raise GantryError(f"{exc}") from None


def sinks(cfg: GantryConfig, extra: list[NotificationSink]) -> list[NotificationSink]:
    found: list[NotificationSink] = []
    if cfg.notifications.file:
        found.append(FileSink(run_dir() / cfg.notifications.file))
    found += [WebhookSink(url) for url in cfg.notifications.webhook_urls]
    if name := cfg.notifications.slack_webhook_url_env:
        url = os.environ.get(name)
        if not url:
            raise GantryError(f"notifications.slack_webhook_url_env names ${name}, which is not set: export it")
        found.append(SlackSink(url))
    return found + extra


def send(event: dict[str, Any], targets: list[NotificationSink]) -> list[str]:
    """Deliver to every sink; returns the failures as 'sink: reason' lines."""
    failures = []
    for sink in targets:
        started = time.monotonic()
        try:
            sink.send(event)
        except GantryError as exc:
            failures.append(f"{sink.name}: {exc} after {time.monotonic() - started:.1f} s")
    return failures
