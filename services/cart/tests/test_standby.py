"""A region whose database is a hot standby: reads work, writes answer 503, and a promotion is noticed within
about a second without restarting the service. The standby is real: pg_basebackup of the session's primary,
streaming from it. (A read-only session on the primary, default_transaction_read_only=on, is covered too.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import cart_testdb
import pytest
from cart import db

if TYPE_CHECKING:
    from flask.testing import FlaskClient

READ_ONLY = {"error": "this region's database is a read-only standby until it is promoted", "status": 503}


@pytest.fixture(scope="module")
def standby(pg: cart_testdb.SessionDatabase) -> Iterator[cart_testdb.Node]:
    node = pg.primary.clone_standby("standby", cart_testdb.free_port([pg.primary.port]))
    pg.nodes.append(node)  # stopped at the end of the session even if this module fails half-way
    yield node
    node.stop("immediate")


@pytest.fixture
def standby_client(
    standby: cart_testdb.Node, make_app: Callable[..., Any], make_store: Callable[..., Any]
) -> FlaskClient:
    return make_app(make_store(standby.url())).test_client()


def test_reads_come_from_the_standby(client: FlaskClient, standby_client: FlaskClient, cart_id: str) -> None:
    client.post(f"/carts/{cart_id}/items", json={"sku": "apple", "quantity": 4})
    cart_testdb.wait_for(lambda: standby_client.get(f"/carts/{cart_id}").json["items"] != [], timeout=5)
    assert standby_client.get(f"/carts/{cart_id}").json["items"] == [{"sku": "apple", "quantity": 4}]


def test_writes_on_the_standby_are_a_503(client: FlaskClient, standby_client: FlaskClient, cart_id: str) -> None:
    client.post(f"/carts/{cart_id}/items", json={"sku": "apple"})
    cart_testdb.wait_for(lambda: standby_client.get(f"/carts/{cart_id}").json["items"] != [], timeout=5)
    added = standby_client.post(f"/carts/{cart_id}/items", json={"sku": "apple"})
    assert (added.status_code, added.json) == (503, READ_ONLY)
    removed = standby_client.delete(f"/carts/{cart_id}/items/apple")
    assert (removed.status_code, removed.json) == (503, READ_ONLY)
    assert "Retry-After" not in added.headers  # retrying won't help until someone promotes it


def test_a_standby_is_healthy_and_says_so(standby_client: FlaskClient) -> None:
    response = standby_client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"]["role"] == "standby"


def test_refused_writes_are_counted(standby_client: FlaskClient) -> None:
    standby_client.post("/carts/c-metrics/items", json={"sku": "apple"})
    text = standby_client.get("/metrics").get_data(as_text=True)
    assert 'cart_db_errors_total{kind="read_only",operation="add_item"} 1.0' in text


def test_a_read_only_session_is_treated_like_a_standby(
    make_app: Callable[..., Any], make_store: Callable[..., Any], pg: Any, cart_id: str
) -> None:
    # Not a standby: the primary, with every transaction read-only. The write fails with SQLSTATE 25006.
    url = pg.url + " options='-c default_transaction_read_only=on'"
    client = make_app(make_store(url)).test_client()
    response = client.post(f"/carts/{cart_id}/items", json={"sku": "apple"})
    assert (response.status_code, response.json) == (503, READ_ONLY)
    assert client.get("/healthz").json["database"]["role"] == "standby"
    assert client.get(f"/carts/{cart_id}").status_code == 200


def test_promotion_is_noticed_within_about_a_second(standby: cart_testdb.Node, standby_client: FlaskClient) -> None:
    # Runs last in this module: afterwards the "standby" is a primary of its own.
    assert standby_client.post("/carts/c-promote/items", json={"sku": "apple"}).status_code == 503
    standby.promote()
    statuses: list[int] = []

    def writable() -> bool:
        statuses.append(standby_client.post("/carts/c-promote/items", json={"sku": "apple"}).status_code)
        return statuses[-1] == 201

    # No restart and no error other than the standby's 503 on the way; how soon the cached role is re-read is
    # RoleCache's (test_the_role_is_re_read_once_its_ttl_has_passed), not a wall-clock bound on a loaded machine.
    cart_testdb.wait_for(writable, timeout=15, interval=0.05)
    assert set(statuses) <= {503, 201}
    assert standby_client.get("/healthz").json["database"]["role"] == "primary"


class _Reply:
    def __init__(self, row: tuple[bool]) -> None:
        self.row = row

    def fetchone(self) -> tuple[bool]:
        return self.row


class _Server:
    """What RoleCache asks of a connection: pg_is_in_recovery() (or a read-only session) as one row."""

    def __init__(self) -> None:
        self.read_only, self.queries = True, 0

    def execute(self, query: str) -> _Reply:
        self.queries += 1
        return _Reply((self.read_only,))


def test_the_role_is_re_read_once_its_ttl_has_passed() -> None:
    now = [100.0]
    cache = db.RoleCache(ttl=db.ROLE_TTL, clock=lambda: now[0])
    server = _Server()
    assert cache.is_read_only(server) is True and server.queries == 1
    server.read_only = False  # promoted
    now[0] += db.ROLE_TTL * 0.9
    assert cache.is_read_only(server) is True and server.queries == 1  # within the TTL: the cached role
    now[0] += db.ROLE_TTL * 0.2
    assert cache.is_read_only(server) is False and server.queries == 2  # one TTL after: re-read, writable
    cache.record(read_only=True)  # a 25006 error is authoritative at once
    assert cache.is_read_only(server) is True and server.queries == 2
