"""The database settings, from the environment only.

- ``DATABASE_URL``: a libpq conninfo (``host=/run/postgresql port=5432 dbname=cart user=cart``) or a
  ``postgresql://`` URI, WITHOUT a password. Required: without it the service refuses to start.
- The password, from at most one of:
  - ``DATABASE_PASSWORD_FILE``: path of a file that holds just the password (trailing newlines are stripped).
    This is the local target's read-only secret mount. It is not a libpq passfile: the same secret value works
    as a file or as a variable, and a passfile would have to be owned by the container's user with mode 0600.
    (Who wants a real libpq passfile can put ``passfile=/path`` in DATABASE_URL instead.)
  - ``DATABASE_PASSWORD``: the value itself, as ECS injects it from Secrets Manager (task definition ``secrets``).
  - neither: libpq's own mechanisms (``passfile=``, peer or certificate authentication).

The password is read once, at start-up (a rotated secret takes effect with the next rolling deploy). It never
appears in an error message: errors name the variable or the file, never the value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict

# Client-side defaults that DATABASE_URL may override; they matter only for TCP (libpq ignores the keepalive
# settings on unix sockets). They bound how long a dead or unreachable server can stall a request.
CONNECT_DEFAULTS: dict[str, str] = {
    "connect_timeout": "3",  # seconds per connection attempt (libpq's minimum effective value is 2)
    "application_name": "cart",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "10000",  # ms a write may stay unacknowledged before the kernel drops the connection
}


class ConfigError(Exception):
    """The environment does not describe a usable database; the message names the fix, never a secret."""


@dataclass(frozen=True)
class DatabaseSettings:
    conninfo: str  # as given in DATABASE_URL (it holds no password)
    password: str | None = field(default=None, repr=False)
    defaults: Mapping[str, str] = field(default_factory=dict)  # CONNECT_DEFAULTS not already in the conninfo

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for psycopg.connect (the pool passes them to every new connection)."""
        kwargs: dict[str, Any] = dict(self.defaults)
        if self.password is not None:
            kwargs["password"] = self.password  # never part of a string that could be logged
        return kwargs


def database_settings(env: Mapping[str, str]) -> DatabaseSettings:
    """The settings from ``env`` (os.environ in production); raises ConfigError with a one-line reason."""
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        raise ConfigError(
            "DATABASE_URL is not set: give the libpq conninfo of the cart database, e.g. "
            "'host=/run/postgresql port=5432 dbname=cart user=cart' "
            "(the password goes in DATABASE_PASSWORD_FILE or DATABASE_PASSWORD)"
        )
    try:
        params = conninfo_to_dict(url)
    except ProgrammingError:
        # libpq's message quotes the offending fragment, which could be part of a secret: withhold it.
        raise ConfigError(
            "DATABASE_URL is not a valid libpq conninfo string or postgresql:// URI (the parser's message "
            "is not shown because it may quote the value)"
        ) from None
    if "password" in params:
        raise ConfigError(
            "DATABASE_URL must not contain a password: remove it and use DATABASE_PASSWORD_FILE or DATABASE_PASSWORD"
        )
    defaults = {key: value for key, value in CONNECT_DEFAULTS.items() if key not in params}
    return DatabaseSettings(conninfo=url, password=_password(env), defaults=defaults)


def _password(env: Mapping[str, str]) -> str | None:
    path = env.get("DATABASE_PASSWORD_FILE", "")
    value = env.get("DATABASE_PASSWORD", "")
    if path and value:
        raise ConfigError("both DATABASE_PASSWORD_FILE and DATABASE_PASSWORD are set: set only one")
    if value:
        return value
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        # The reason (permission denied, not found, ...) and the path, never a fragment of the content.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc.__class__.__name__
        raise ConfigError(
            f"DATABASE_PASSWORD_FILE {path} can't be read ({reason}): mount the secret file readable by the "
            "service's user"
        ) from None
    password = text.rstrip("\r\n")
    if not password:
        raise ConfigError(f"DATABASE_PASSWORD_FILE {path} is empty")
    if "\n" in password or "\r" in password:
        raise ConfigError(
            f"DATABASE_PASSWORD_FILE {path} has more than one line: it must hold only the password "
            "(not a libpq passfile; use passfile= in DATABASE_URL for that)"
        )
    return password
