"""The local target's database ownership, on a real PostgreSQL 15 cluster (no stack around it): a database an
earlier gantry made for the shared owner role moves, with what its migrations created, to its environment's own
owner login, which then alone may alter it; the shared service role may no longer connect to it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gantry.host import ports
from gantry.targets.local import postgres
from gantry.targets.local.layout import database_dir

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[postgres.Cluster]:
    if not (postgres.PG_BIN / "initdb").exists():
        pytest.skip(
            f"PostgreSQL 15 binaries not found in {postgres.PG_BIN}: apt-get install postgresql-15 (make bootstrap)"
        )
    where = database_dir(tmp_path)  # reachable by the postgres user when the tests run as root
    where.mkdir(mode=0o711, parents=True, exist_ok=True)
    logins = {
        "cart_staging": ["cart_staging_app", "cart_staging_owner"],
        "cart_production": ["cart_production_app", "cart_production_owner"],
    }
    node = postgres.Cluster("owners", where, ports.free_port(24900, 24990), app="cart", logins=logins)
    node.init_primary()
    try:
        yield node
    finally:
        node.stop("immediate")
        shutil.rmtree(where, ignore_errors=True)


def owner_of(node: postgres.Cluster, database: str, relation: str | None = None) -> str:
    if relation is None:
        query, args = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)
    else:
        query, args = "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s", (relation,)
    with node.connect(database) as conn:
        return str(conn.execute(query, args).fetchone()[0])  # type: ignore[index]


def test_an_earlier_shared_database_moves_to_its_environments_owner(cluster: postgres.Cluster) -> None:
    for database in ("cart_staging", "cart_production"):
        cluster.create_database(database)  # as an earlier gantry made them: the shared owner's
        with cluster.connect(database) as conn:
            conn.execute("CREATE TABLE carts (id serial PRIMARY KEY)")
            conn.execute("CREATE VIEW cart_ids AS SELECT id FROM carts")
            conn.execute("ALTER TABLE carts OWNER TO cart_owner")
            conn.execute("ALTER VIEW cart_ids OWNER TO cart_owner")
    for env in ("staging", "production"):
        cluster.ensure_login(f"cart_{env}_owner")
        cluster.ensure_login(f"cart_{env}_app", member_of="cart")
        cluster.create_database(f"cart_{env}", owner=f"cart_{env}_owner", app=f"cart_{env}_app")
    cluster.ensure_hba()
    assert owner_of(cluster, "cart_production") == "cart_production_owner"
    assert owner_of(cluster, "cart_production", "carts") == "cart_production_owner"
    assert owner_of(cluster, "cart_production", "cart_ids") == "cart_production_owner"
    assert owner_of(cluster, "cart_production", "carts_id_seq") == "cart_production_owner"  # with its table
    assert owner_of(cluster, "cart_staging") == "cart_staging_owner"
    # Staging's owner, in staging's own database, cannot alter production's; production's own owner can.
    for login, allowed in (("cart_staging_owner", False), ("cart_production_owner", True)):
        database = login.removesuffix("_owner")
        password = cluster.secrets.password(login, create=False)
        with psycopg.connect(
            host=str(cluster.socket_dir),
            port=cluster.port,
            dbname=database,
            user=login,
            password=password,
            autocommit=True,
        ) as conn:
            if allowed:
                conn.execute("ALTER DATABASE cart_production CONNECTION LIMIT 50")
            else:
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
                    conn.execute("ALTER DATABASE cart_production CONNECTION LIMIT 0")
    with cluster.connect() as conn:
        connect = "SELECT has_database_privilege(%s, 'cart_production', 'CONNECT')"
        assert conn.execute(connect, ("cart_staging_app",)).fetchone()[0] is False  # type: ignore[index]
        assert conn.execute(connect, ("cart_production_app",)).fetchone()[0] is True  # type: ignore[index]
