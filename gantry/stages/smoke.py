"""Stage 5, smoke: HTTP checks through an environment's load balancer in each region: the ones every service
gets and the ones its contract (gantry.contract) declares.

A region whose database is a standby (the DR region until a failover) serves reads only: smoke reads there
and writes where the database is the primary. (It does not provoke the standby's 503 for writes: the load
balancer's 5xx-rate alert would rightly fire; tests/local/test_dr.py checks that refusal.)"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import requests
from tenacity import retry, stop_after_attempt, wait_fixed

from gantry.contract import ServiceContract, SmokeCheck
from gantry.errors import GantryError
from gantry.targets.base import Release


@dataclass(frozen=True)
class Check:
    region: str
    name: str
    ok: bool
    detail: str


@retry(stop=stop_after_attempt(3), wait=wait_fixed(0.5), reraise=True)
def _call(method: str, url: str, **kwargs: object) -> requests.Response:
    return requests.request(method, url, timeout=5, **kwargs)  # type: ignore[arg-type]


def _database_role(url: str) -> str | None:
    """The database role the health path reports: primary, standby, or None (no database, or it does not say)."""
    try:
        body = _call("GET", url).json()
    except (requests.RequestException, ValueError):
        return None  # the healthz check reports it
    database = body.get("database") if isinstance(body, dict) else None
    return database.get("role") if isinstance(database, dict) else None


def _declared(base: str, check: SmokeCheck, token: str) -> Callable[[], tuple[bool, str]]:
    """One check the service's contract declares: the call, then its status and the JSON fields it names."""

    def call() -> tuple[bool, str]:
        url = base + check.path.replace("{token}", token)
        response = _call(check.method, url, json=check.body) if check.body is not None else _call(check.method, url)
        detail = f"HTTP {response.status_code}"
        if response.status_code != check.status:
            return False, f"{detail}, expected {check.status}"
        if not (check.json_fields or check.json_keys):
            return True, detail
        if not response.headers.get("Content-Type", "").startswith("application/json"):
            return False, f"{detail}, not JSON"
        body = response.json()
        if not isinstance(body, dict):
            return False, f"{detail}, not a JSON object"
        missing = [key for key in check.json_keys if key not in body]
        wrong = [key for key, value in check.json_fields.items() if body.get(key) != value]
        if missing or wrong:
            return False, f"{detail}, " + ", ".join([*(f"no {k}" for k in missing), *(f"{k} differs" for k in wrong)])
        return True, detail

    return call


def _checks(base: str, release: Release, contract: ServiceContract) -> list[tuple[str, Callable[[], tuple[bool, str]]]]:
    """What every service answers (health, the release it runs, its request counter), then what its contract
    declares; calls that write are left out where the database is a standby."""
    token = secrets.token_hex(4)
    health_url, version_url = base + contract.health.path, base + contract.health.version
    standby = _database_role(health_url) == "standby"

    def healthz() -> tuple[bool, str]:
        response = _call("GET", health_url)
        return response.status_code == 200, f"HTTP {response.status_code}"

    def version() -> tuple[bool, str]:
        body = _call("GET", version_url).json()
        ok = body.get("sha") == release.sha and body.get("digest") == release.digest
        return ok, f"sha {str(body.get('sha'))[:12]} digest {str(body.get('digest'))[:19]}"

    def metrics() -> tuple[bool, str]:
        response = _call("GET", base + contract.metrics.path)
        return response.ok and contract.metrics.requests in response.text, f"HTTP {response.status_code}"

    declared = [(c.name, _declared(base, c, token)) for c in contract.smoke if not (standby and c.writes)]
    return [("healthz", healthz), ("version", version), *declared, ("metrics", metrics)]


def run(endpoints: dict[str, str], release: Release, contract: ServiceContract) -> list[Check]:
    """All checks against every region's endpoint; raises GantryError naming the first failure."""
    results: list[Check] = []
    for region, base in endpoints.items():
        for name, check in _checks(base, release, contract):
            try:
                ok, detail = check()
            except (requests.RequestException, ValueError) as exc:
                ok, detail = False, exc.__class__.__name__
            results.append(Check(region, name, ok, detail))
    failed = [c for c in results if not c.ok]
    if failed:
        first = failed[0]
        raise GantryError(
            f"smoke check '{first.name}' failed in {first.region} ({first.detail}) via "
            f"{endpoints[first.region]}: see `gantry status` and the replica logs"
        )
    return results
