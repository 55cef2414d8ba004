"""The local monitoring stack as the stages see it: Prometheus file_sd target lists (rewritten as replicas come
and go) and queries of what Prometheus scraped."""

from __future__ import annotations

import time

import requests

from gantry import jsonfile
from gantry.errors import GantryError
from gantry.targets.base import Alert
from gantry.targets.local.layout import Layout


def write_targets(layout: Layout, name: str, addresses: list[str], labels: dict[str, str]) -> None:
    groups = [{"targets": addresses, "labels": labels}] if addresses else []
    jsonfile.write_atomic(layout.targets_file(name), groups)


def query(prometheus: str, expression: str) -> list[dict[str, object]]:
    """The instant vector of `expression`; GantryError when Prometheus does not answer."""
    try:
        reply = requests.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=5).json()
        result: list[dict[str, object]] = reply["data"]["result"]
        return result
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise GantryError(
            f"Prometheus at {prometheus} does not answer ({exc.__class__.__name__}): run `gantry up`"
        ) from None


def replicas_up(prometheus: str, env: str, want: int, timeout: float = 30) -> int:
    """Wait until Prometheus has scraped every replica of `env` as up; returns how many it sees."""
    expression = f'sum(up{{job="replicas",env="{env}"}})'
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        try:
            values = query(prometheus, expression)
            seen = int(float(values[0]["value"][1])) if values else 0  # type: ignore[index]
        except GantryError:
            seen = 0
        if seen == want:
            return seen
        time.sleep(1)
    raise GantryError(
        f"Prometheus sees {seen} of {want} {env} replicas up after {timeout:.0f} s: check {prometheus}/targets"
    )


def firing(prometheus: str) -> list[Alert]:
    """The alerts Prometheus holds as firing (pending ones have not held for their `for:` yet)."""
    try:
        reply = requests.get(f"{prometheus}/api/v1/alerts", timeout=5).json()
        alerts = reply["data"]["alerts"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise GantryError(
            f"Prometheus at {prometheus} does not answer ({exc.__class__.__name__}): run `gantry up`"
        ) from None
    return [
        Alert(
            name=alert["labels"].get("alertname", "?"),
            severity=alert["labels"].get("severity", ""),
            summary=alert.get("annotations", {}).get("summary", ""),
            since=alert.get("activeAt", ""),
        )
        for alert in alerts
        if alert.get("state") == "firing"
    ]
