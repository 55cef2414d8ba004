"""Applies the cart's schema migrations (migrations/, yoyo's format) to the database DATABASE_URL names, as the
schema owner. The pipeline runs this once per release, as a one-off task of the release's own image, with the
owner's credentials and nothing else (gantry migrate); it prints one line per migration it applied.

Environment: DATABASE_URL (a libpq conninfo or URI without a password) and DATABASE_PASSWORD_FILE or
DATABASE_PASSWORD, as for the service (NOTES.md). Exit status 0 when the schema is up to date, 1 when a migration
failed (each is one transaction: nothing of it is applied), 2 for bad configuration.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

from cart.config import ConfigError, database_settings
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations
from yoyo.exceptions import LockTimeout

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def yoyo_url(conninfo: str) -> str:
    """yoyo's URL for a libpq conninfo; the password never goes into it (libpq reads PGPASSWORD)."""
    parts = conninfo_to_dict(conninfo)
    user, dbname = quote(str(parts.pop("user", ""))), quote(str(parts.pop("dbname", "")))
    host = str(parts.pop("host", ""))
    query = {key: str(value) for key, value in parts.items() if key != "password"}
    if host.startswith("/"):
        query["host"] = host
        host = ""
    return f"postgresql+psycopg://{user}@{host}/{dbname}" + (f"?{urlencode(query)}" if query else "")


def main() -> int:
    try:
        settings = database_settings(os.environ)
    except ConfigError as exc:
        print(f"migrate: refusing to start: {exc}", file=sys.stderr)
        return 2
    if settings.password is not None:
        os.environ["PGPASSWORD"] = settings.password
    backend = get_backend(yoyo_url(settings.conninfo))
    migrations = read_migrations(str(MIGRATIONS))
    try:
        with backend.lock(timeout=60):
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    except LockTimeout:
        print("migrate: another migration holds the database's yoyo lock: retry when it finished", file=sys.stderr)
        return 1
    except Exception as exc:  # yoyo and the driver raise their own kinds; the message names no secret
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        print(f"migrate: failed ({type(exc).__name__}: {first}): nothing of it was applied", file=sys.stderr)
        return 1
    for migration in pending:
        print(f"applied {migration.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
