"""Fixtures: a real PostgreSQL 15 for the session (cart_testdb), stores and apps on it, and a store stub for the
tests that must not touch a database."""

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The service's code lives in this folder (it is the image's /app); make `import cart` work for its unit tests, and
# `import cart_testdb` / `import cart_stubs` (helpers next to this file). The helpers are imported inside the
# fixtures, because module-level imports after this line would have to be exempted from the import-order lint.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def pg() -> Iterator[Any]:
    """The session's cart_testdb.SessionDatabase: a migrated primary, stopped and removed at the end."""
    import cart_testdb

    reason = cart_testdb.missing_binaries()
    if reason:
        pytest.skip(reason)
    for module in ("psycopg", "psycopg_pool", "yoyo"):
        pytest.importorskip(
            module,
            reason=f"{module} is not installed in this Python: pip install 'psycopg[binary]' psycopg-pool "
            "yoyo-migrations (see services/cart/NOTES.md)",
        )
    with cart_testdb.session_database() as db:
        yield db


@pytest.fixture
def make_store(pg: Any) -> Iterator[Callable[..., Any]]:
    """A factory of PostgresCartStore (each with its own pool, like a separate replica); closed after the test."""
    from cart.config import database_settings
    from cart.pgstore import PostgresCartStore

    stores: list[PostgresCartStore] = []

    def make(url: str | None = None, *, request_timeout: float = 3.0, **env: str) -> PostgresCartStore:
        settings = database_settings({"DATABASE_URL": url or pg.url, "DATABASE_PASSWORD": pg.password, **env})
        store = PostgresCartStore(settings, request_timeout=request_timeout)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def make_app() -> Callable[..., Any]:
    """cart.api.create_app. (A fixture, so test modules import no `cart` module next to third-party ones: ruff's
    import sorting ranks `cart` first-party in services/cart/ and third-party in the repository, and both must pass.)"""
    from cart.api import create_app

    return create_app


@pytest.fixture
def client(make_app: Callable[..., Any], make_store: Callable[..., Any]) -> Any:
    return make_app(make_store()).test_client()


@pytest.fixture
def cart_id() -> str:
    """A cart no other test uses (the database lives for the whole session)."""
    return f"c-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def offline_client(make_app: Callable[..., Any]) -> Any:
    """An app whose store fails the test when called: for input handling that must stop before storage."""
    import cart_stubs

    return make_app(cart_stubs.UntouchableStore()).test_client()
