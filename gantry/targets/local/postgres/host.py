"""What every part of the local PostgreSQL nodes shares: the OS user the binaries run as, the generated
secrets, the addresses and role names, the errors, and small helpers."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import socket
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gantry.errors import GantryError

PG_BIN = Path(os.environ.get("GANTRY_PG_BIN", "/usr/lib/postgresql/15/bin"))

PG_OS_USER = os.environ.get("GANTRY_PG_USER", "postgres")

HOST = "127.0.0.1"

SUPERUSER = "postgres"

REPL_USER = "replicator"

StopMode = Literal["smart", "fast", "immediate"]


class PgError(GantryError):
    """A PostgreSQL operation failed (a GantryError: the CLI shows its message as the one-line error)."""


class FencedError(PgError):
    """The node is fenced and must be rewound before it may run again."""


def parse_lsn(text: str) -> int:
    """Convert an LSN such as ``0/3000148`` to an integer."""
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def quote_guc(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def safe_path(path: Path) -> str:
    text = str(path)
    if re.search(r"[\s'\"\\]", text):
        raise PgError(f"path must not contain whitespace, quotes or backslashes: {text!r}")
    return text


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (our sandbox's PID 1 reaps lazily)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as postgres does; ignores TIME_WAIT
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class RunAs:
    """The OS identity PostgreSQL binaries run as."""

    name: str
    uid: int
    gid: int
    switch: bool  # True: we are root and setresuid() to this user for every binary

    @classmethod
    def detect(cls) -> RunAs:
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam(PG_OS_USER)
            except KeyError as exc:
                raise PgError(f"running as root but OS user {PG_OS_USER!r} does not exist") from exc
            return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, True)
        entry = pwd.getpwuid(os.geteuid())
        return cls(entry.pw_name, entry.pw_uid, os.getegid(), False)

    @property
    def invoker(self) -> str:
        """OS user name of this Python process (mapped to the superuser by peer auth)."""
        return pwd.getpwuid(os.geteuid()).pw_name

    def chown(self, path: Path) -> None:
        if self.switch:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def check_traversable(self, path: Path) -> None:
        """Raise unless every ancestor of ``path`` is searchable by this user."""
        for parent in [*reversed(path.resolve().parents)]:
            st = parent.stat()
            if st.st_uid == self.uid:
                ok = bool(st.st_mode & stat.S_IXUSR)
            elif st.st_gid == self.gid:
                ok = bool(st.st_mode & stat.S_IXGRP)
            else:
                ok = bool(st.st_mode & stat.S_IXOTH)
            if not ok:
                raise PgError(f"{parent} is not traversable by OS user {self.name} (mode {oct(st.st_mode)})")


class Secrets:
    """Passwords in 0600 files inside a 0700 directory owned by the PostgreSQL OS user."""

    def __init__(self, directory: Path, runas: RunAs) -> None:
        self.dir = directory
        self.runas = runas

    def _ensure_dir(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        self.runas.chown(self.dir)

    def write(self, name: str, content: str) -> Path:
        self._ensure_dir()
        path = self.dir / name
        tmp = path.with_name(f".{name}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, content.encode())
            os.fchmod(fd, 0o600)
            if self.runas.switch:
                os.fchown(fd, self.runas.uid, self.runas.gid)
        finally:
            os.close(fd)
        tmp.replace(path)
        return path

    def password(self, role: str, *, create: bool = True) -> str:
        path = self.dir / f"{role}.password"
        if path.exists():
            return path.read_text().strip()
        if not create:
            raise PgError(f"no password file for role {role!r} in {self.dir}")
        value = secrets.token_urlsafe(32)
        self.write(path.name, value + "\n")
        return value

    def passfile(self, role: str) -> Path:
        """libpq passfile for ``role`` (any host/port/db, incl. the replication pseudo-db)."""
        path = self.dir / f"{role}.pgpass"
        if not path.exists():
            self.write(path.name, f"*:*:*:{role}:{self.password(role, create=False)}\n")
        return path

    def copy_from(self, other: Secrets, roles: Sequence[str]) -> None:
        """Stand-in for secret distribution between regions."""
        for role in roles:
            self.write(f"{role}.password", other.password(role, create=False) + "\n")
            self.passfile(role)
