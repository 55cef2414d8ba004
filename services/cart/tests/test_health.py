"""/healthz reflects the database, the pool survives a database restart, and /metrics shows database calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cart_testdb

if TYPE_CHECKING:
    from flask.testing import FlaskClient


def test_healthz_reports_the_primary_and_its_latency(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ok" and body["database"]["role"] == "primary"
    assert isinstance(body["database"]["latency_ms"], float) and body["database"]["latency_ms"] >= 0


def test_healthz_is_a_503_when_the_database_is_unreachable(
    make_app: Callable[..., Any], make_store: Callable[..., Any], pg: cart_testdb.SessionDatabase, tmp_path: Path
) -> None:
    dead = f"host={tmp_path / 'no-server-here'} port={pg.primary.port} dbname=cart user=cart"
    client = make_app(make_store(dead, request_timeout=0.5)).test_client()
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 2.0  # inside the container check's 2 s timeout
    assert response.status_code == 503
    assert response.json == {"error": "the database is unavailable; retry shortly", "status": 503}
    assert client.get("/carts/c1").status_code == 503
    text = client.get("/metrics").get_data(as_text=True)
    assert 'cart_db_errors_total{kind="unavailable",operation="health"} 1.0' in text


def test_a_database_restart_leaves_no_dead_connections(client: FlaskClient, pg: cart_testdb.SessionDatabase) -> None:
    assert client.get("/carts/c-restart").status_code == 200  # the pool now holds a connection
    pg.primary.restart()
    # The pooled connection died with the old server; the checkout check replaces it, so no request fails.
    assert client.get("/carts/c-restart").status_code == 200
    assert client.post("/carts/c-restart/items", json={"sku": "apple"}).status_code == 201


def test_healthz_follows_the_database_down_and_up(client: FlaskClient, pg: cart_testdb.SessionDatabase) -> None:
    assert client.get("/healthz").status_code == 200
    pg.primary.stop()
    try:
        assert client.get("/healthz").status_code == 503
    finally:
        pg.primary.start()
    recovered = cart_testdb.wait_for(lambda: client.get("/healthz").status_code == 200, timeout=15)
    assert recovered < 8.0, f"healthy again only {recovered:.1f} s after the database came back"


def test_metrics_show_database_latency_and_errors(client: FlaskClient, cart_id: str) -> None:
    client.post(f"/carts/{cart_id}/items", json={"sku": "apple"})
    client.get(f"/carts/{cart_id}")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'cart_db_query_duration_seconds_count{operation="add_item"} 1.0' in text
    assert 'cart_db_query_duration_seconds_bucket{le="0.005",operation="get_cart"}' in text
    assert 'cart_db_errors_total{kind="unavailable",operation="add_item"} 0.0' in text
    assert 'cart_http_requests_total{method="POST",path="/carts/<cart_id>/items",status="201"} 1.0' in text
