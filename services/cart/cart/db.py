"""PostgreSQL plumbing: a small connection pool whose connections are checked before use, the cached
primary/standby state of the server, and the classification of driver errors.

Works with psycopg/psycopg_pool 3.1 (Debian bookworm, the container) and 3.3 (PyPI): it uses only API that both
have. In particular the pool's ``check=`` callback only exists from psycopg_pool 3.2, so the checkout check is done
here, the same way (an empty query on the connection before it is handed out)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeAlias

import psycopg
from psycopg_pool import ConnectionPool

from cart.config import DatabaseSettings

if TYPE_CHECKING:
    from psycopg.rows import TupleRow

    Conn: TypeAlias = psycopg.Connection[TupleRow]

POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 4  # gunicorn runs 8 threads; the rest wait up to REQUEST_TIMEOUT for a connection
REQUEST_TIMEOUT = 3.0  # seconds a request waits for a pooled connection before answering 503
HEALTH_TIMEOUT = 1.0  # /healthz must answer inside the container check's 2 s and the balancer's timeout
# After a failed connection attempt the pool retries with exponential backoff; giving up after this long resets
# the backoff, so the first request after an outage triggers a fresh attempt instead of waiting out a long delay.
RECONNECT_TIMEOUT = 10.0
MAX_IDLE = 300.0  # idle connections above min_size are closed after this long
ROLE_TTL = 1.0  # how stale the cached primary/standby state may be: promotion is noticed within about a second

# Server-side limits for every session, set once per new connection: one round trip of plain SQL (no startup
# `options`, which some proxies reject).
SESSION_SETTINGS = (
    "SELECT set_config('statement_timeout', '5s', false),"
    " set_config('lock_timeout', '2s', false),"  # a cart's row lock is held for a few statements, never long
    " set_config('idle_in_transaction_session_timeout', '10s', false)"  # a stuck worker can't hold a cart lock
)
# "standby" means "refuses writes": a server in recovery, or a session forced read-only.
READ_ONLY_QUERY = "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::boolean"

READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction
TIMEOUT_SQLSTATES = {"57014", "55P03"}  # query_canceled (statement_timeout), lock_not_available (lock_timeout)

_pool_numbers = itertools.count(1)


def classify(exc: psycopg.Error) -> str:
    """The kind label of a driver error: read_only, timeout, unavailable or other."""
    if exc.sqlstate == READ_ONLY_SQLSTATE:
        return "read_only"
    if exc.sqlstate in TIMEOUT_SQLSTATES:
        return "timeout"
    # Connection failures, server shutdown/restart (57P01-57P03), pool timeouts (PoolTimeout is one).
    if isinstance(exc, psycopg.OperationalError):
        return "unavailable"
    return "other"


def _configure(conn: Conn) -> None:
    conn.execute(SESSION_SETTINGS)


def _is_alive(conn: Conn) -> bool:
    """One round trip. A connection the server closed (restart, failover, idle kill) fails here, before it
    could fail a request; psycopg then marks it broken and the pool replaces it when it is returned."""
    try:
        conn.execute("")
    except psycopg.OperationalError:
        return False
    return True


class Database:
    """The pool of one service process. Opening does not wait for the server: the service starts (and reports
    itself unhealthy) while the database is down, and connects as soon as it is back."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self._pool = ConnectionPool(
            settings.conninfo,
            kwargs={**settings.connect_kwargs(), "autocommit": True},  # transactions are explicit
            min_size=POOL_MIN_SIZE,
            max_size=POOL_MAX_SIZE,
            open=False,  # psycopg_pool 3.2+ warns when this is left implicit; 3.1 accepts it
            name=f"cart-{next(_pool_numbers)}",
            timeout=REQUEST_TIMEOUT,
            max_idle=MAX_IDLE,
            reconnect_timeout=RECONNECT_TIMEOUT,
            configure=_configure,
        )
        self._pool.open(wait=False)

    @contextmanager
    def connection(self, timeout: float = REQUEST_TIMEOUT) -> Iterator[Conn]:
        """A live connection in autocommit mode; raises psycopg.OperationalError (PoolTimeout) if none comes
        within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        # Every pooled connection may have died together (a restart): try each, plus one fresh connection.
        for _ in range(POOL_MAX_SIZE + 1):
            remaining = max(0.001, deadline - time.monotonic())
            with self._pool.connection(timeout=remaining) as conn:
                if not _is_alive(conn):
                    continue  # leaving the block returns it; the pool discards it and connects a new one
                yield conn
                return
        raise psycopg.OperationalError("no live database connection after retrying every pooled connection")

    def close(self) -> None:
        self._pool.close(timeout=2.0)


class RoleCache:
    """Whether the server refuses writes, re-read at most every ROLE_TTL seconds (so a promotion is seen within
    about a second without a restart). A 25006 error is authoritative and refreshes it at once."""

    def __init__(self, ttl: float = ROLE_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._read_only = False
        self._checked_at: float | None = None

    def is_read_only(self, conn: Conn) -> bool:
        with self._lock:
            if self._checked_at is not None and self._clock() - self._checked_at < self._ttl:
                return self._read_only
        row = conn.execute(READ_ONLY_QUERY).fetchone()  # outside the lock: a slow query must not serialize requests
        read_only = bool(row and row[0])
        self.record(read_only=read_only)
        return read_only

    def record(self, *, read_only: bool) -> None:
        with self._lock:
            self._read_only = read_only
            self._checked_at = self._clock()
