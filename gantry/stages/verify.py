"""Stage 8, verify: every region of the environment serves the release through its load balancer, and
(on the local target) Prometheus sees every replica up."""

from __future__ import annotations

import time

import requests

from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.targets.base import Release, Target


def serving(target: Target, cfg: GantryConfig, env: str, release: Release) -> dict[str, str]:
    found = {}
    for region in cfg.regions_of(env):
        url = f"{target.endpoint(env, region)}/version"
        try:
            digest = requests.get(url, timeout=5).json().get("digest")
        except (requests.RequestException, ValueError) as exc:
            raise GantryError(
                f"{env} in {region} does not answer at {url} ({exc.__class__.__name__}): see `gantry status`"
            ) from None
        if digest != release.digest:
            raise GantryError(
                f"{env} in {region} serves {str(digest)[:19]}, expected {release.digest[:19]}: "
                f"run `gantry deploy --env {env}`"
            )
        found[region] = digest
    return found


def prometheus_targets_up(prometheus: str, cfg: GantryConfig, env: str, timeout: float = 30) -> int:
    """Wait until Prometheus has scraped every replica of `env` as up; returns how many it sees."""
    want = cfg.environment(env).replicas * len(cfg.regions_of(env))
    query = f'sum(up{{job="replicas",env="{env}"}})'
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        try:
            result = requests.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=5).json()
            values = result["data"]["result"]
            seen = int(float(values[0]["value"][1])) if values else 0
        except (requests.RequestException, ValueError, KeyError):
            seen = 0
        if seen == want:
            return seen
        time.sleep(1)
    raise GantryError(
        f"Prometheus sees {seen} of {want} {env} replicas up after {timeout:.0f} s: check {prometheus}/targets"
    )
