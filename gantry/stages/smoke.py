"""Stage 5, smoke: HTTP checks through an environment's load balancer in each region.

A region whose database is a standby (the DR region until a failover) serves reads only: smoke reads there
and writes where the database is the primary. (It does not provoke the standby's 503 for writes: the load
balancer's 5xx-rate alert would rightly fire; tests/local/test_dr.py checks that refusal.)"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import requests
from tenacity import retry, stop_after_attempt, wait_fixed

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


def _database_role(base: str) -> str | None:
    """The database role /healthz reports: primary, standby, or None (no database, or it does not say)."""
    try:
        body = _call("GET", f"{base}/healthz").json()
    except (requests.RequestException, ValueError):
        return None  # the healthz check reports it
    database = body.get("database") if isinstance(body, dict) else None
    return database.get("role") if isinstance(database, dict) else None


def _checks(base: str, release: Release) -> list[tuple[str, Callable[[], tuple[bool, str]]]]:
    cart = f"{base}/carts/smoke-{secrets.token_hex(4)}"
    standby = _database_role(base) == "standby"

    def healthz() -> tuple[bool, str]:
        response = _call("GET", f"{base}/healthz")
        return response.status_code == 200, f"HTTP {response.status_code}"

    def version() -> tuple[bool, str]:
        body = _call("GET", f"{base}/version").json()
        ok = body.get("sha") == release.sha and body.get("digest") == release.digest
        return ok, f"sha {str(body.get('sha'))[:12]} digest {str(body.get('digest'))[:19]}"

    def add_item() -> tuple[bool, str]:
        response = _call("POST", f"{cart}/items", json={"sku": "SMOKE-1", "quantity": 2})
        body = response.json() if response.ok else {}
        return response.status_code == 201 and body.get("sku") == "SMOKE-1" and body.get(
            "quantity"
        ) == 2, f"HTTP {response.status_code}"

    def read_cart() -> tuple[bool, str]:
        response = _call("GET", cart)
        return response.status_code == 200 and "items" in response.json(), f"HTTP {response.status_code}"

    def reject_bad_input() -> tuple[bool, str]:
        response = _call("POST", f"{cart}/items", json={"sku": "SMOKE-1", "quantity": 0})
        is_json_error = (
            response.headers.get("Content-Type", "").startswith("application/json") and "error" in response.json()
        )
        return response.status_code == 400 and is_json_error, f"HTTP {response.status_code}"

    def metrics() -> tuple[bool, str]:
        response = _call("GET", f"{base}/metrics")
        return response.ok and "cart_http_requests_total" in response.text, f"HTTP {response.status_code}"

    return [
        ("healthz", healthz),
        ("version", version),
        *([] if standby else [("add item", add_item)]),
        ("read cart", read_cart),
        ("bad input is 400", reject_bad_input),
        ("metrics", metrics),
    ]


def run(endpoints: dict[str, str], release: Release) -> list[Check]:
    """All checks against every region's endpoint; raises GantryError naming the first failure."""
    results: list[Check] = []
    for region, base in endpoints.items():
        for name, check in _checks(base, release):
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
