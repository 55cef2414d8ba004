"""The yoyo migrations: least privilege for the runtime role, the database's own limits, rollbacks that work,
and expand/contract (the service works on the schema before the expand step and after it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import cart_testdb
import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed in this Python (see services/cart/NOTES.md)")


def app_connection(pg: cart_testdb.SessionDatabase, dbname: str = "cart") -> Any:
    return psycopg.connect(pg.primary.url(dbname), password=pg.password, autocommit=True)


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE sneaky (id int)",
        "SELECT * FROM _yoyo_migration",
        "DROP TABLE cart_items",
        "TRUNCATE cart_items",
        "ALTER TABLE carts ADD COLUMN x int",
    ],
)
def test_the_runtime_role_has_only_dml(pg: cart_testdb.SessionDatabase, statement: str) -> None:
    with app_connection(pg) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_the_runtime_role_has_dml_on_its_tables(pg: cart_testdb.SessionDatabase) -> None:
    with app_connection(pg) as conn:
        for table in ("carts", "cart_items"):
            row = conn.execute("SELECT has_table_privilege(%s, 'SELECT, INSERT, UPDATE, DELETE')", (table,)).fetchone()
            assert row == (True,)


@pytest.mark.parametrize(
    ("sku", "quantity"),
    [("apple\n", 1), ("", 1), ("a" * 65, 1), ("apple", 0), ("apple", 100)],
)
def test_the_database_enforces_the_limits_too(pg: cart_testdb.SessionDatabase, sku: str, quantity: int) -> None:
    cart_id = f"c-{uuid.uuid4().hex[:8]}"
    with app_connection(pg) as conn:
        conn.execute("INSERT INTO carts (cart_id) VALUES (%s)", (cart_id,))
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO cart_items VALUES (%s, %s, %s)", (cart_id, sku, quantity))


def test_rollbacks_undo_the_migrations_and_they_apply_again(pg: cart_testdb.SessionDatabase) -> None:
    pg.create_database("cart_rollback")
    applied = pg.migrate("cart_rollback")
    assert applied == ["0001.create-carts", "0002.cart-items-updated-at"]
    assert pg.migrate("cart_rollback", rollback=True) == list(reversed(applied))
    with pg.primary.admin("cart_rollback", user=cart_testdb.OWNER) as conn:
        assert conn.execute("SELECT to_regclass('cart_items')").fetchone() == (None,)
    assert pg.migrate("cart_rollback") == applied
    assert pg.migrate("cart_rollback") == []  # idempotent: nothing left to apply


def test_expand_step_is_compatible_with_the_current_release(
    pg: cart_testdb.SessionDatabase, make_app: Callable[..., Any], make_store: Callable[..., Any]
) -> None:
    # The schema the release before the expand step ran on: 0001 only.
    pg.create_database("cart_expand")
    assert pg.migrate("cart_expand", up_to="0001.create-carts") == ["0001.create-carts"]
    client = make_app(make_store(pg.primary.url("cart_expand"))).test_client()
    assert client.post("/carts/c1/items", json={"sku": "apple"}).status_code == 201
    # Expand while the service runs: it keeps working, and its inserts fill the new column from the default.
    assert pg.migrate("cart_expand") == ["0002.cart-items-updated-at"]
    assert client.post("/carts/c1/items", json={"sku": "pear"}).status_code == 201
    assert client.post("/carts/c1/items", json={"sku": "apple"}).json["quantity"] == 2
    with app_connection(pg, "cart_expand") as conn:
        rows = conn.execute("SELECT sku, updated_at IS NOT NULL FROM cart_items ORDER BY sku").fetchall()
    assert rows == [("apple", True), ("pear", True)]
