"""The service's database as both targets provision it: a runtime role with DML only (the migrations grant
it), a database per environment that the schema owner owns and the runtime role may only connect to.

Passwords reach PostgreSQL only as SCRAM-SHA-256 verifiers computed on this side by libpq, so even a logged
CREATE/ALTER ROLE statement would not leak one.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


def scram_verifier(conn: psycopg.Connection[Any], role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `role`, computed by libpq on this side of `conn`
    (PQencryptPasswordConn), so the password itself never travels."""
    encrypted: bytes = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
    return encrypted.decode()


def ensure_role(conn: psycopg.Connection[Any], role: str, password: str) -> None:
    """A login role with this password (created, or its password set: a rotated secret takes effect)."""
    verifier = sql.Literal(scram_verifier(conn, role, password))
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), verifier))


def ensure_database(conn: psycopg.Connection[Any], name: str, *, owner: str, app_role: str) -> bool:
    """`name` owned by `owner`, which `app_role` may only connect to (its table privileges come from the
    migrations). False when it exists already. `conn` must be in autocommit mode (CREATE DATABASE)."""
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
        return False
    conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner)))
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(name), sql.Identifier(app_role)))
    return True
