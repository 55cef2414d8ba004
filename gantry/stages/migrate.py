"""Schema migrations as a pipeline stage: the service's yoyo migrations, taken from the commit being shipped,
applied to the environment's database on the region that takes writes, before the deploy that needs them.

Migrations are written expand/contract (app/migrations/README.md): whatever a migration adds, the release
still running keeps working, so applying it before the deploy (and keeping it after a rollback) is safe.
yoyo holds a lock in the database while it applies, so two pipelines never migrate at once.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

from yoyo import get_backend, read_migrations
from yoyo.exceptions import LockTimeout

from gantry.errors import GantryError


def apply(url: str, archive: bytes, directory: str) -> list[str]:
    """Apply what is not applied yet from `directory` inside the tar `archive`; the ids applied, in order."""
    with tempfile.TemporaryDirectory(prefix="gantry-migrations-") as scratch:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(scratch, filter="data")
        source = Path(scratch) / directory
        if not source.is_dir():
            raise GantryError(f"the commit has no {directory}/: fix service.database.migrations")
        migrations = read_migrations(str(source))
        try:
            backend = get_backend(url)
        except Exception as exc:  # yoyo and the driver raise their own kinds; the URL holds no secret
            raise GantryError(f"cannot reach the database to migrate ({type(exc).__name__}): run `gantry up`") from None
        try:
            with backend.lock(timeout=60):
                pending = backend.to_apply(migrations)
                backend.apply_migrations(pending)
        except LockTimeout:
            raise GantryError("another migration holds the database's yoyo lock: wait for it and retry") from None
        except Exception as exc:
            raise GantryError(
                f"migration failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}): nothing of it was "
                "applied (each migration is one transaction); fix it in a new commit"
            ) from None
        return [migration.id for migration in pending]
