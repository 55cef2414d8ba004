"""The service's database as both targets provision it: a runtime role with DML only (the migrations grant
it), a database per environment that the schema owner owns and the runtime role may only connect to.

Passwords reach PostgreSQL only as SCRAM-SHA-256 verifiers computed here, so even a logged CREATE/ALTER ROLE
statement would not leak one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

import psycopg
from psycopg import sql


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores in pg_authid (generated passwords are ASCII, so SASLprep
    is the identity)."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def ensure_role(conn: psycopg.Connection[Any], role: str, password: str) -> None:
    """A login role with this password (created, or its password set: a rotated secret takes effect)."""
    verifier = sql.Literal(scram_verifier(password))
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
