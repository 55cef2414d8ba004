"""Throwaway PostgreSQL 15 clusters for the cart tests: one primary per test session (plus a hot standby cloned
from it for the standby tests), under a temporary directory, on a port in 34000-34999, reached over its unix
socket.

The approach is that of the project's region prototype (/tmp/proto/postgres/pg_regions.py): when the tests run
as root, every PostgreSQL binary runs as the ``postgres`` OS user (subprocess ``user=``/``group=``; initdb and
postgres refuse to run as root); administration goes over the socket with peer authentication mapped to the
superuser, so no admin password exists; the service's role ``cart`` authenticates with scram-sha-256 and its
password reaches the server only as a SCRAM verifier computed here."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("CART_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_OS_USER = "postgres"
PORTS = range(34000, 35000)
SUPERUSER, OWNER, APP = "postgres", "cart_owner", "cart"
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"

# Fast and small: nothing here has to survive a crash of the machine.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_permissions": "0777",  # access control is pg_hba.conf (peer / scram), as in production
    "max_connections": "60",
    "shared_buffers": "'16MB'",
    "fsync": "off",
    "synchronous_commit": "off",
    "max_wal_senders": "4",
    "hot_standby": "on",
    "wal_retrieve_retry_interval": "'200ms'",  # a standby notices promote requests and a new primary quickly
    "log_min_messages": "warning",
    "log_statement": "'none'",
    "password_encryption": "'scram-sha-256'",
}


def missing_binaries() -> str | None:
    """Why the clusters can't be made here, naming the fix; None when they can."""
    for binary in ("initdb", "pg_ctl", "pg_basebackup", "postgres"):
        if not (PG_BIN / binary).is_file():
            return f"PostgreSQL 15 binaries not found in {PG_BIN}: apt-get install postgresql-15 (make bootstrap)"
    return None


@dataclass(frozen=True)
class RunAs:
    uid: int
    gid: int
    switch: bool  # True when we are root and run the binaries as PG_OS_USER

    @classmethod
    def detect(cls) -> RunAs:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(PG_OS_USER)
            return cls(entry.pw_uid, entry.pw_gid, True)
        return cls(os.geteuid(), os.getegid(), False)

    def chown(self, path: Path) -> None:
        if self.switch:
            os.chown(path, self.uid, self.gid)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as postgres does: TIME_WAIT is not "busy"
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(taken: Sequence[int] = ()) -> int:
    start = secrets.randbelow(len(PORTS))  # other sessions may use the range too: don't all start at 34000
    for offset in range(len(PORTS)):
        port = PORTS[(start + offset) % len(PORTS)]
        if port not in taken and _port_free(port):
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@dataclass
class Node:
    """One cluster: ``<base>/<name>/{data,sock,postgres.log}``."""

    base: Path
    name: str
    port: int
    runas: RunAs = field(default_factory=RunAs.detect)

    @property
    def dir(self) -> Path:
        return self.base / self.name

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def sock(self) -> Path:
        return self.dir / "sock"

    @property
    def log_file(self) -> Path:
        return self.dir / "postgres.log"

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        switch = self.runas.switch
        proc = subprocess.run(
            [str(PG_BIN / args[0]), *args[1:]],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.dir,
            env={"PATH": f"{PG_BIN}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(self.dir), "PGTZ": "UTC"},
            user=self.runas.uid if switch else None,
            group=self.runas.gid if switch else None,
            extra_groups=[] if switch else None,
            umask=0o077,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{args[0]} failed (rc={proc.returncode}): {proc.stderr.strip() or proc.stdout}")
        return proc

    def write(self, path: Path, text: str, mode: int = 0o600) -> None:
        path.write_text(text)
        path.chmod(mode)
        self.runas.chown(path)

    def _prepare_dirs(self) -> None:
        for directory, mode in ((self.dir, 0o755), (self.sock, 0o711)):
            directory.mkdir(mode=mode)
            directory.chmod(mode)
            self.runas.chown(directory)

    def init_primary(self) -> None:
        self._prepare_dirs()
        self.run(
            "initdb",
            f"--pgdata={self.data}",
            f"--username={SUPERUSER}",
            "--auth-local=peer",
            "--auth-host=reject",  # pg_hba.conf is replaced below; no superuser password is ever set
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        )
        conf = self.data / "postgresql.conf"
        extra = "".join(f"{key} = {value}\n" for key, value in SETTINGS.items())
        self.write(conf, conf.read_text() + "\n# cart tests\n" + extra + "include_if_exists = 'node.conf'\n")
        self.write(self.data / "pg_hba.conf", self._hba())
        self.write(self.data / "pg_ident.conf", self._ident())
        self.write_node_conf()

    def _hba(self) -> str:
        return (
            f"local all         {SUPERUSER}  peer map=admin\n"
            f"local all         {OWNER}      peer map=admin\n"
            f"local replication {SUPERUSER}  peer map=admin\n"
            f"local all         {APP}        scram-sha-256\n"
            f"host  all         {APP}        127.0.0.1/32 scram-sha-256\n"
        )

    def _ident(self) -> str:
        invoker = pwd.getpwuid(os.geteuid()).pw_name
        users = sorted({invoker, PG_OS_USER if self.runas.switch else invoker})
        return "".join(f"admin {user} {role}\n" for user in users for role in (SUPERUSER, OWNER))

    def write_node_conf(self) -> None:
        """Settings of this node only; pg_basebackup copies the primary's, so a standby rewrites them."""
        self.write(self.data / "node.conf", f"port = {self.port}\nunix_socket_directories = '{self.sock}'\n")

    def start(self) -> None:
        self.run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log_file), "-w", "-t", "30", timeout=40)

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "30", timeout=40)

    def restart(self) -> None:
        self.run("pg_ctl", "restart", "-D", str(self.data), "-m", "fast", "-l", str(self.log_file), "-w", timeout=40)

    def promote(self) -> None:
        self.run("pg_ctl", "promote", "-D", str(self.data), "-w", "-t", "30", timeout=40)

    def admin(self, dbname: str = "postgres", user: str = SUPERUSER) -> Any:
        """An autocommit connection as the superuser (or cart_owner) over the socket, by peer authentication."""
        import psycopg

        return psycopg.connect(
            host=str(self.sock), port=self.port, user=user, dbname=dbname, autocommit=True, connect_timeout=5
        )

    def url(self, dbname: str = "cart") -> str:
        """DATABASE_URL for the service: the unix socket, no password."""
        return f"host={self.sock} port={self.port} dbname={dbname} user={APP}"

    def clone_standby(self, name: str, port: int) -> Node:
        """A hot standby of this node, streaming from it (pg_basebackup over the socket, peer auth: no password
        is involved, so -R writes none into the standby's configuration)."""
        standby = Node(self.base, name, port, self.runas)
        standby._prepare_dirs()
        self.run(
            "pg_basebackup",
            f"--pgdata={standby.data}",
            f"--dbname=host={self.sock} port={self.port} user={SUPERUSER}",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--write-recovery-conf",
            "--no-sync",
        )
        standby.write_node_conf()
        standby.start()
        return standby


@dataclass
class SessionDatabase:
    """The session's primary with the cart schema migrated, and the service role's credentials."""

    primary: Node
    password: str
    password_file: Path
    nodes: list[Node]

    @property
    def url(self) -> str:
        return self.primary.url()

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url, "DATABASE_PASSWORD_FILE": str(self.password_file)}

    def owner_uri(self, node: Node | None = None, dbname: str = "cart") -> str:
        """What the pipeline gives yoyo: the owner role, the socket, no password (peer auth here)."""
        node = node or self.primary
        return f"postgresql+psycopg://{OWNER}@/{dbname}?host={node.sock}&port={node.port}"

    def create_database(self, dbname: str) -> None:
        with self.primary.admin() as conn:
            conn.execute(f'CREATE DATABASE "{dbname}" OWNER {OWNER}')
            conn.execute(f'REVOKE ALL ON DATABASE "{dbname}" FROM PUBLIC')
            conn.execute(f'GRANT CONNECT ON DATABASE "{dbname}" TO {APP}')

    def migrate(self, dbname: str = "cart", *, up_to: str | None = None, rollback: bool = False) -> list[str]:
        """Apply (or roll back) the migrations with yoyo's Python API, as the pipeline would; returns their ids."""
        from yoyo import get_backend, read_migrations

        backend = get_backend(self.owner_uri(dbname=dbname))
        try:
            migrations = read_migrations(str(MIGRATIONS))
            with backend.lock():
                if rollback:
                    chosen = backend.to_rollback(migrations)
                    backend.rollback_migrations(chosen)
                else:
                    chosen = backend.to_apply(migrations)
                    if up_to is not None:
                        ids = [m.id for m in chosen]
                        chosen = chosen[: ids.index(up_to) + 1]
                    backend.apply_migrations(chosen)
            return [m.id for m in chosen]
        finally:
            backend.connection.close()

    def stop_all(self) -> None:
        for node in reversed(self.nodes):
            with contextlib.suppress(Exception):
                node.stop("immediate" if node is not self.primary else "fast")


@contextlib.contextmanager
def session_database() -> Iterator[SessionDatabase]:
    """Start the primary, create the roles and the database, apply the migrations; stop every node at the end."""
    base = Path(tempfile.mkdtemp(prefix="cart-pg-", dir="/tmp"))
    base.chmod(0o711)  # the postgres OS user must traverse it; nobody may list it
    primary = Node(base, "primary", free_port())
    db = SessionDatabase(primary, secrets.token_urlsafe(24), base / "cart.password", [primary])
    try:
        primary.init_primary()
        primary.start()
        with primary.admin() as conn:
            conn.execute("SET log_statement = 'none'")
            conn.execute(f"CREATE ROLE {OWNER} LOGIN")
            # Only libpq's SCRAM verifier travels (PQencryptPasswordConn), as the platform sets the role up.
            verifier = conn.pgconn.encrypt_password(db.password.encode(), APP.encode(), b"scram-sha-256").decode()
            conn.execute(f"CREATE ROLE {APP} LOGIN PASSWORD '{verifier}'")
        db.create_database("cart")
        fd = os.open(db.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(db.password + "\n")  # as a secret mount usually is: one line, newline-terminated
        db.migrate()
        yield db
    finally:
        db.stop_all()
        shutil.rmtree(base, ignore_errors=True)


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> float:
    """Seconds until ``predicate()`` was true; AssertionError after ``timeout``."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            if predicate():
                return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
