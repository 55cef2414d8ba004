"""Carts in PostgreSQL (schema: migrations/). Safe for any number of replicas writing the same cart at once:
every write to a cart first locks that cart's row, and quantities are added in the database, never read,
modified and written back by the service."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg

from cart.config import DatabaseSettings
from cart.db import HEALTH_TIMEOUT, READ_ONLY_QUERY, REQUEST_TIMEOUT, Database, RoleCache, classify
from cart.limits import MAX_ITEMS_PER_CART, MAX_QUANTITY
from cart.metrics import DbMetrics
from cart.store import (
    DatabaseHealth,
    DatabaseUnavailable,
    LimitExceeded,
    ReadOnlyDatabase,
    StorageFailure,
)

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

    from cart.db import Conn

log = logging.getLogger(__name__)

READ_ONLY_MESSAGE = "this region's database is a read-only standby until it is promoted"

# COLLATE "C": code-point order, the same on every server whatever its default collation.
SELECT_ITEMS = 'SELECT sku, quantity FROM cart_items WHERE cart_id = %s ORDER BY sku COLLATE "C"'
# The cart row is the per-cart lock: concurrent writers to one cart queue here, so the item count below can't
# change under us. (ON CONFLICT DO NOTHING waits for a concurrent uncommitted insert of the same cart.)
ENSURE_CART = "INSERT INTO carts (cart_id) VALUES (%s) ON CONFLICT (cart_id) DO NOTHING"
LOCK_CART = "SELECT 1 FROM carts WHERE cart_id = %s FOR UPDATE"
# One statement: insert a new SKU only while the cart has room, otherwise add to the stored quantity only while
# the sum stays within the cap. No row back means one of the two limits said no.
UPSERT_ITEM = """
INSERT INTO cart_items (cart_id, sku, quantity)
SELECT %(cart)s, %(sku)s, %(qty)s
WHERE EXISTS (SELECT 1 FROM cart_items WHERE cart_id = %(cart)s AND sku = %(sku)s)
   OR (SELECT count(*) FROM cart_items WHERE cart_id = %(cart)s) < %(max_items)s
ON CONFLICT (cart_id, sku) DO UPDATE
   SET quantity = cart_items.quantity + EXCLUDED.quantity
 WHERE cart_items.quantity + EXCLUDED.quantity <= %(max_qty)s
RETURNING quantity
"""
SELECT_QUANTITY = "SELECT quantity FROM cart_items WHERE cart_id = %s AND sku = %s"
# Not under the cart lock: a delete racing an add can only make the add's count too high (a 409 at the limit,
# never a 101st item), and it saves two round trips.
DELETE_ITEM = "DELETE FROM cart_items WHERE cart_id = %s AND sku = %s"


class PostgresCartStore:
    def __init__(
        self, settings: DatabaseSettings, metrics: DbMetrics | None = None, *, request_timeout: float = REQUEST_TIMEOUT
    ) -> None:
        self._db = Database(settings)
        self._request_timeout = request_timeout
        self._role = RoleCache()
        self._metrics = metrics or DbMetrics()

    def items(self, cart_id: str) -> dict[str, int]:
        with self._operation("get_cart") as conn:
            rows = conn.execute(SELECT_ITEMS, (cart_id,)).fetchall()
        return {str(sku): int(quantity) for sku, quantity in rows}

    def add(self, cart_id: str, sku: str, quantity: int) -> int:
        with self._operation("add_item") as conn:
            self._refuse_if_read_only("add_item", conn)
            with conn.transaction():
                conn.execute(ENSURE_CART, (cart_id,))
                conn.execute(LOCK_CART, (cart_id,))
                params = {
                    "cart": cart_id,
                    "sku": sku,
                    "qty": quantity,
                    "max_items": MAX_ITEMS_PER_CART,
                    "max_qty": MAX_QUANTITY,
                }
                row = conn.execute(UPSERT_ITEM, params).fetchone()
                if row is not None:
                    return int(row[0])
                # Raised inside the transaction, so it rolls back (there is nothing to keep).
                current = conn.execute(SELECT_QUANTITY, (cart_id, sku)).fetchone()
                if current is not None:
                    raise LimitExceeded(
                        f"cart '{cart_id}' has {current[0]} of '{sku}'; adding {quantity} would exceed the limit "
                        f"of {MAX_QUANTITY} per item"
                    )
                raise LimitExceeded(f"cart '{cart_id}' already has the limit of {MAX_ITEMS_PER_CART} distinct items")

    def remove(self, cart_id: str, sku: str) -> bool:
        with self._operation("remove_item") as conn:
            self._refuse_if_read_only("remove_item", conn)
            return bool(conn.execute(DELETE_ITEM, (cart_id, sku)).rowcount > 0)

    def health(self) -> DatabaseHealth:
        started = time.perf_counter()
        with self._operation("health", timeout=HEALTH_TIMEOUT) as conn, conn.transaction():
            conn.execute("SET LOCAL statement_timeout = '1s'")
            row = conn.execute(READ_ONLY_QUERY).fetchone()
        read_only = bool(row and row[0])
        self._role.record(read_only=read_only)
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return DatabaseHealth(role="standby" if read_only else "primary", latency_ms=latency_ms)

    def collectors(self) -> Sequence[Collector]:
        return self._metrics.collectors()

    def close(self) -> None:
        self._db.close()

    def _refuse_if_read_only(self, operation: str, conn: Conn) -> None:
        if self._role.is_read_only(conn):
            self._metrics.error(operation, "read_only")
            raise ReadOnlyDatabase(READ_ONLY_MESSAGE)

    @contextmanager
    def _operation(self, operation: str, timeout: float | None = None) -> Iterator[Conn]:
        """A checked connection for one operation: timed, and with driver errors turned into StoreErrors that
        carry no driver text (that goes to the log, where secrets are redacted)."""
        started = time.perf_counter()
        try:
            with self._db.connection(timeout or self._request_timeout) as conn:
                yield conn
        except psycopg.Error as exc:
            kind = classify(exc)
            self._metrics.error(operation, kind)
            log.warning(
                "database %s failed: %s (sqlstate %s): %s",
                operation,
                kind,
                exc.sqlstate or "-",
                str(exc).strip().replace("\n", " "),
            )
            if kind == "read_only":
                self._role.record(read_only=True)  # authoritative: no need to wait for the cache to expire
                raise ReadOnlyDatabase(READ_ONLY_MESSAGE) from None
            if kind in ("unavailable", "timeout"):
                raise DatabaseUnavailable("the database is unavailable; retry shortly") from None
            raise StorageFailure("internal server error") from None
        finally:
            self._metrics.observe(operation, time.perf_counter() - started)
