"""PostgreSQL 15 clusters of the local target: region 1's primary, region 2's hot standby fed by streaming
replication through a physical slot; promotion, fencing and fail back with pg_rewind (the local stand-in for
an Aurora global database).

One :class:`Cluster` owns one node directory::

    <base>/<name>/data      PGDATA (0700, owned by the PostgreSQL OS user)
    <base>/<name>/sock      unix_socket_directories (0711: containers can connect, not list)
    <base>/<name>/log       postgres.log, pg_rewind/pg_basebackup output
    <base>/<name>/secrets   generated passwords and passfiles (0700 dir, 0600 files)
    <base>/<name>/FENCED    present while the node is fenced; start() refuses to run

Run as root, every PostgreSQL binary is executed as the unprivileged ``postgres`` user through
``subprocess``'s ``user=/group=/extra_groups=[]`` (setresuid/setresgid in the child, no shell, no
``runuser``); run as a normal user, binaries run directly as that user.

Passwords are generated with :mod:`secrets`, written only to 0600 files, handed to libpq via
``passfile=`` and to the server as pre-computed SCRAM verifiers over the protocol, so they never
appear in argv, the environment, server logs or ``postgresql*.conf``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql

from gantry.database import ensure_database, scram_verifier
from gantry.errors import GantryError

PG_BIN = Path(os.environ.get("GANTRY_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_OS_USER = os.environ.get("GANTRY_PG_USER", "postgres")
HOST = "127.0.0.1"
SUPERUSER = "postgres"
REPL_USER = "replicator"
StopMode = Literal["smart", "fast", "immediate"]

# Shared settings, appended to postgresql.conf by init_primary() and copied to standbys by
# pg_basebackup / pg_rewind (so a standby's max_connections etc. always equal the primary's).
CLUSTER_SETTINGS: dict[str, str] = {
    "listen_addresses": f"'{HOST}'",
    "unix_socket_permissions": "0777",  # access is controlled by scram + directory mode
    "max_connections": "50",
    "shared_buffers": "'64MB'",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "wal_keep_size": "'256MB'",  # covers the gap between promotion and slot creation
    "max_wal_size": "'512MB'",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "wal_receiver_status_interval": "'1s'",
    "wal_sender_timeout": "'10s'",
    "wal_receiver_timeout": "'10s'",
    # A standby that lost its upstream sleeps this long between retries; pg_promote() arriving in
    # that window was seen to wait for the full default 5 s (see FINDINGS.md).
    "wal_retrieve_retry_interval": "'500ms'",
    "synchronous_commit": "on",
    "password_encryption": "'scram-sha-256'",
    "log_line_prefix": "'%m [%p] %q%u@%d '",
    "log_statement": "'none'",
    "recovery_init_sync_method": "syncfs",  # crash/backup-recovery start: one syncfs() instead of fsync per file
}
# Keys the module owns per node (gantry_node.conf); scrubbed from postgresql.auto.conf.
NODE_KEYS = (
    "port",
    "unix_socket_directories",
    "cluster_name",
    "synchronous_standby_names",
    "hot_standby",
    "primary_conninfo",
    "primary_slot_name",
)


class PgError(GantryError):
    """A PostgreSQL operation failed (a GantryError: the CLI shows its message as the one-line error)."""


class FencedError(PgError):
    """The node is fenced and must be rewound before it may run again."""


# --------------------------------------------------------------------------- helpers


def parse_lsn(text: str) -> int:
    """Convert an LSN such as ``0/3000148`` to an integer."""
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def _quote_guc(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _safe_path(path: Path) -> str:
    text = str(path)
    if re.search(r"[\s'\"\\]", text):
        raise PgError(f"path must not contain whitespace, quotes or backslashes: {text!r}")
    return text


def _alive(pid: int) -> bool:
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


# --------------------------------------------------------------------------- cluster


# The relations a role owns in a database (what migrations create: tables, views, sequences not owned by a
# column), as (relkind, quoted name): create_database moves them with the database to a new owner.
RELATIONS_OWNED_BY = """
SELECT c.relkind, format('%%I.%%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relowner = %s::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
"""
RELATION_KINDS = {
    "r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "f": "FOREIGN TABLE"
}  # fmt: skip


class Cluster:
    """One PostgreSQL 15 cluster (primary or standby) in ``base_dir/name``."""

    def __init__(
        self,
        name: str,
        base_dir: Path,
        port: int,
        *,
        app: str,
        logins: Mapping[str, Sequence[str]] | None = None,
        pg_bin: Path = PG_BIN,
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name):
            raise PgError(f"cluster name must be a valid slot name: {name!r}")
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", app):
            raise PgError(f"the service role name must be a plain identifier: {app!r}")
        self.name = name
        # The service's runtime role (reads and writes rows) and the role that owns its databases and runs
        # the migrations: the running service cannot change the schema.
        self.app_user = app
        self.owner_user = f"{app}_owner"
        # database -> the only roles that may log in to it (pg_hba.conf): each environment's own service and
        # owner logins, so no environment's credentials open another's database. None: the two shared roles
        # log in to every database (a single-environment cluster, like the aws tests' Aurora stand-in).
        self.logins = dict(logins) if logins is not None else None
        self.port = port
        self.pg_bin = pg_bin
        self.runas = RunAs.detect()
        self.node_dir = (base_dir / name).absolute()
        self.data_dir = self.node_dir / "data"
        self.socket_dir = self.node_dir / "sock"
        self.log_dir = self.node_dir / "log"
        self.log_file = self.log_dir / "postgres.log"
        self.fence_file = self.node_dir / "FENCED"
        self.secrets = Secrets(self.node_dir / "secrets", self.runas)
        # Names this node waits for when it is primary ('' = asynchronous replication); the
        # persisted value in gantry_node.conf wins so a new process does not silently reset it.
        self.synchronous_standby_names = self._persisted_sync_names()

    def _persisted_sync_names(self) -> str:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            for line in (self.data_dir / "gantry_node.conf").read_text().splitlines():
                m = re.fullmatch(r"synchronous_standby_names = '(.*)'", line)
                if m:
                    return m.group(1).replace("''", "'")
        return ""

    def __repr__(self) -> str:
        return f"Cluster({self.name!r}, port={self.port})"

    # ----------------------------------------------------------------- process plumbing

    def _env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.pg_bin}:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HOME": str(self.node_dir),  # never root's ~/.pgpass
            "PGTZ": "UTC",
        }

    def run(self, args: Sequence[str], *, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary as the PostgreSQL OS user. Secrets are never in ``args``."""
        cmd = [str(self.pg_bin / args[0]), *args[1:]]
        trace = os.environ.get("GANTRY_PG_ARGV_LOG")  # audit aid: every argv we exec, one JSON per line
        if trace:
            with Path(trace).open("a") as fh:
                fh.write(json.dumps(cmd) + "\n")
        switch = self.runas.switch
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self._env(),
            cwd=self.node_dir,
            user=self.runas.uid if switch else None,
            group=self.runas.gid if switch else None,
            extra_groups=[] if switch else None,
            umask=0o077,
            check=False,
        )
        if check and proc.returncode != 0:
            raise PgError(f"{args[0]} failed (rc={proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def _mkdir(self, path: Path, mode: int) -> None:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
        path.chmod(mode)
        self.runas.chown(path)

    def _write(self, path: Path, content: str, mode: int = 0o600) -> None:
        tmp = path.with_name(f".{path.name}.gantry.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.write(fd, content.encode())
            os.fchmod(fd, mode)
            if self.runas.switch:
                os.fchown(fd, self.runas.uid, self.runas.gid)
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)

    def note(self, message: str) -> None:
        """Append an operator-readable line to log/gantry.log (never contains secrets)."""
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {self.name}: {message}\n"
        with contextlib.suppress(OSError), (self.log_dir / "gantry.log").open("a") as fh:
            fh.write(line)

    def _prepare_dirs(self) -> None:
        existing = self.node_dir
        while not existing.exists():
            existing = existing.parent
        self.runas.check_traversable(existing / "probe")  # before creating anything
        self._mkdir(self.node_dir, 0o755)
        self.runas.check_traversable(self.node_dir)
        self._mkdir(self.socket_dir, 0o711)
        self._mkdir(self.log_dir, 0o750)
        if not self.log_file.exists():
            self._write(self.log_file, "", 0o640)

    # ----------------------------------------------------------------- configuration

    def _node_conf(self, *, upstream: Cluster | None, fenced: bool = False) -> str:
        conninfo = self._upstream_conninfo(upstream) if upstream is not None else ""
        lines = {
            "port": str(self.port),
            "unix_socket_directories": _quote_guc(_safe_path(self.socket_dir)),
            "cluster_name": _quote_guc(self.name),
            "synchronous_standby_names": _quote_guc(self.synchronous_standby_names),
            "hot_standby": "off" if fenced else "on",
            "primary_conninfo": _quote_guc(conninfo),
            "primary_slot_name": _quote_guc(self.name if upstream is not None else ""),
        }
        body = "".join(f"{k} = {v}\n" for k, v in lines.items())
        header = f"# managed by gantry (targets/local/postgres.py) for node {self.name}; rewritten before each start"
        return f"{header}\n{body}"

    def _upstream_conninfo(self, upstream: Cluster) -> str:
        passfile = _safe_path(self.secrets.passfile(REPL_USER))
        return (
            f"host={HOST} port={upstream.port} user={REPL_USER} passfile={passfile} "
            f"application_name={self.name} connect_timeout=2"
        )

    def write_config(self, *, upstream: Cluster | None, fenced: bool = False) -> None:
        """(Re)write the node-specific config; scrub the same keys from postgresql.auto.conf.

        Needed after pg_basebackup/pg_rewind, which copy the *source's* config files verbatim.
        """
        self._write(self.data_dir / "gantry_node.conf", self._node_conf(upstream=upstream, fenced=fenced))
        auto = self.data_dir / "postgresql.auto.conf"
        if auto.exists():
            lines = auto.read_text().splitlines(keepends=True)
            keep = [ln for ln in lines if ln.split("=", 1)[0].strip() not in NODE_KEYS]
            if keep != lines:
                self._write(auto, "".join(keep))
        include = "include_if_exists = 'gantry_node.conf'"
        conf = self.data_dir / "postgresql.conf"
        text = conf.read_text()
        if include not in text:
            raise PgError(f"{conf} does not include gantry_node.conf (not created by this module?)")

    HOT_STANDBY_PARAMS = (
        ("max_connections", "max_connections setting"),
        ("max_worker_processes", "max_worker_processes setting"),
        ("max_wal_senders", "max_wal_senders setting"),
        ("max_prepared_transactions", "max_prepared_xacts setting"),
        ("max_locks_per_transaction", "max_locks_per_xact setting"),
    )

    def check_hot_standby_params(self) -> None:
        """A standby needs these >= the values its WAL was generated with (recorded in pg_control);
        otherwise recovery pauses / the standby shuts down. Checked offline before every standby start."""
        control = self.controldata()
        for guc, key in self.HOT_STANDBY_PARAMS:
            mine = int(self.run(["postgres", "-D", str(self.data_dir), "-C", guc]).stdout.strip())
            needed = int(control.get(key, "0"))
            if mine < needed:
                raise PgError(f"{self.name}: {guc}={mine} < {needed} used by the primary; raise it first")

    def _signal(self, standby: bool) -> None:
        path = self.data_dir / "standby.signal"
        if standby:
            self._write(path, "")
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "recovery.signal").unlink()

    # ----------------------------------------------------------------- lifecycle

    def init_primary(self, *, extra_settings: Mapping[str, str] | None = None) -> dict[str, float]:
        """initdb + config + roles. Returns timings in seconds."""
        if self.data_dir.exists():
            raise PgError(f"{self.data_dir} already exists")
        self.synchronous_standby_names = ""  # a fresh cluster has no sync standby (would block the DDL below)
        self._prepare_dirs()
        # The superuser password only satisfies initdb's check for --auth-host=scram-sha-256; our
        # pg_hba.conf admits the superuser through the unix socket with peer auth only.
        for role in (SUPERUSER, REPL_USER, self.app_user, self.owner_user):
            self.secrets.password(role)
        t0 = time.monotonic()
        self.run(
            [
                "initdb",
                f"--pgdata={self.data_dir}",
                f"--username={SUPERUSER}",
                f"--pwfile={self.secrets.dir / (SUPERUSER + '.password')}",
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                "--data-checksums",  # pg_rewind needs checksums or wal_log_hints=on
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
        t_initdb = time.monotonic() - t0
        settings = {**CLUSTER_SETTINGS, **(extra_settings or {})}
        conf = self.data_dir / "postgresql.conf"
        added = "".join(f"{k} = {v}\n" for k, v in settings.items())
        self._write(
            conf,
            conf.read_text()
            + "\n# ---- gantry (shared by all nodes) ----\n"
            + added
            + "include_if_exists = 'gantry_node.conf'\n",
        )
        self._write(self.data_dir / "pg_hba.conf", self._hba())
        self._write(self.data_dir / "pg_ident.conf", self._ident())
        self.write_config(upstream=None)
        self.start()
        self._create_roles()
        return {"initdb_s": round(t_initdb, 3), "total_s": round(time.monotonic() - t0, 3)}

    def _hba(self) -> str:
        admitted = (
            {"all": [self.app_user, self.owner_user]}
            if self.logins is None
            else {database: list(roles) for database, roles in sorted(self.logins.items())}
        )
        lines = [
            "# TYPE  DATABASE     USER        ADDRESS        METHOD",
            f"local   all          {SUPERUSER}                   peer map=gantry",
        ]
        for database, roles in admitted.items():
            users = ",".join(roles)
            lines += [
                f"local   {database}   {users}                   scram-sha-256",
                f"host    {database}   {users}   {HOST}/32   scram-sha-256",
            ]
        lines += [
            f"host    replication  {REPL_USER}  {HOST}/32   scram-sha-256",
            f"host    postgres     {REPL_USER}  {HOST}/32   scram-sha-256",  # pg_rewind source
        ]
        return "\n".join(lines) + "\n"

    def ensure_hba(self) -> None:
        """pg_hba.conf as this node's logins say, reloaded when it changed and the node runs."""
        path = self.data_dir / "pg_hba.conf"
        wanted = self._hba()
        with contextlib.suppress(FileNotFoundError):
            if path.read_text() == wanted:
                return
        self._write(path, wanted)
        if self.is_running():
            with self.connect() as conn:
                conn.execute("SELECT pg_reload_conf()")

    def ensure_login(self, role: str, member_of: str | None = None) -> None:
        """A login role (password in this node's secrets), inheriting `member_of`'s privileges if given; on the
        writer."""
        with self.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                return
            verifier = scram_verifier(conn, role, self.secrets.password(role))
            conn.execute("SET log_statement = 'none'")
            conn.execute("SET log_min_error_statement = 'panic'")  # no statement text in error logs
            create = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier))
            if member_of is not None:
                create += sql.SQL(" IN ROLE {}").format(sql.Identifier(member_of))
            conn.execute(create)

    def _ident(self) -> str:
        users = sorted({"root", self.runas.name, self.runas.invoker})
        return "# MAPNAME  SYSTEM-USERNAME  PG-USERNAME\n" + "".join(f"gantry  {u}  {SUPERUSER}\n" for u in users)

    def _create_roles(self) -> None:
        with self.connect() as conn:
            repl = scram_verifier(conn, REPL_USER, self.secrets.password(REPL_USER, create=False))
            app = scram_verifier(conn, self.app_user, self.secrets.password(self.app_user, create=False))
            owner = scram_verifier(conn, self.owner_user, self.secrets.password(self.owner_user, create=False))
            conn.execute("SET log_statement = 'none'")
            conn.execute("SET log_min_error_statement = 'panic'")  # no statement text in error logs
            # Only SCRAM verifiers travel, as literals over the protocol (never argv, never cleartext).
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN REPLICATION PASSWORD {}").format(
                    sql.Identifier(REPL_USER), sql.Literal(repl)
                )
            )
            for fn in (
                "pg_ls_dir(text, boolean, boolean)",
                "pg_stat_file(text, boolean)",
                "pg_read_binary_file(text)",
                "pg_read_binary_file(text, bigint, bigint, boolean)",
            ):  # what pg_rewind needs from a non-superuser source role
                conn.execute(
                    sql.SQL("GRANT EXECUTE ON FUNCTION pg_catalog.{} TO {}").format(
                        sql.SQL(fn), sql.Identifier(REPL_USER)
                    )
                )
            for role, verifier in ((self.app_user, app), (self.owner_user, owner)):
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier))
                )
        self.secrets.passfile(REPL_USER)
        self.secrets.passfile(self.app_user)
        self.secrets.passfile(self.owner_user)

    def create_database(self, name: str, *, owner: str | None = None, app: str | None = None) -> None:
        """`name`, owned by `owner` (default: the shared owner role), which `app` (default: the shared service
        role) may connect to and nobody else. A database made for another owner (an earlier gantry's shared
        one) moves to `owner` with the relations in it, so no other owner can alter, lock or drop it."""
        owner, app = owner or self.owner_user, app or self.app_user
        with self.connect() as conn:
            ensure_database(conn, name, owner=owner, app_role=app)
            row = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (name,))
            found = str(row.fetchone()[0])  # type: ignore[index]
            if found != owner:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(name), sql.Identifier(owner))
                )
                with self.connect(name) as inside:
                    for kind, relation in inside.execute(RELATIONS_OWNED_BY, (found,)).fetchall():
                        alter = sql.SQL("ALTER {} {} OWNER TO {}").format(
                            sql.SQL(RELATION_KINDS[kind]), sql.SQL(relation), sql.Identifier(owner)
                        )
                        inside.execute(alter)
            if app != self.app_user:
                conn.execute(
                    sql.SQL("REVOKE CONNECT ON DATABASE {} FROM {}").format(
                        sql.Identifier(name), sql.Identifier(self.app_user)
                    )
                )
                conn.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(name), sql.Identifier(app))
                )

    def init_standby(self, primary: Cluster) -> dict[str, float]:
        """pg_basebackup from ``primary`` with a physical slot named after this node."""
        if self.data_dir.exists():
            raise PgError(f"{self.data_dir} already exists")
        self.synchronous_standby_names = ""
        self._prepare_dirs()
        self.secrets.copy_from(primary.secrets, [REPL_USER, self.app_user, self.owner_user])
        primary.drop_slot(self.name)
        t0 = time.monotonic()
        # -R is deliberately NOT used: it copies the password libpq read from the passfile into
        # postgresql.auto.conf in clear (see FINDINGS.md). We write primary_conninfo with passfile=.
        self.run(
            [
                "pg_basebackup",
                f"--pgdata={self.data_dir}",
                f"--dbname={self._upstream_conninfo(primary)}",
                "--wal-method=stream",
                "--create-slot",
                f"--slot={self.name}",
                "--checkpoint=fast",
                "--no-password",
            ]
        )
        t_bb = time.monotonic() - t0
        self.write_config(upstream=primary)
        self._signal(standby=True)
        self.check_hot_standby_params()
        self.start()
        self.wait_streaming(primary)
        return {"pg_basebackup_s": round(t_bb, 3), "total_s": round(time.monotonic() - t0, 3)}

    def postmaster_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except (FileNotFoundError, PermissionError):
            return None
        pid = int(first) if first.strip().isdigit() else None
        if pid is None:
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return None
        return pid if b"postgres" in cmdline and _alive(pid) else None

    def _wait_zombie_reaped(self, timeout: float = 30) -> None:
        """Wait until a killed postmaster is reaped: its zombie still passes kill(pid, 0), which
        makes postgres/pg_ctl/pg_rewind refuse the data directory ("lock file already exists")."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0].strip()
        except FileNotFoundError:
            return
        if not first.isdigit():
            return
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{first}").exists() and not _alive(int(first)) and time.monotonic() < deadline:
            time.sleep(0.02)

    def is_running(self) -> bool:
        return self.postmaster_pid() is not None

    def is_fenced(self) -> bool:
        return self.fence_file.exists()

    def start(self, *, timeout: float = 60) -> None:
        if self.is_fenced():
            raise FencedError(f"{self.name} is fenced ({self.fence_file}); use rewind_and_follow()")
        if self.is_running():
            return
        self._wait_zombie_reaped()
        if not port_is_free(self.port):
            raise PgError(f"port {self.port} on {HOST} is in use")
        self.run(
            ["pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", str(int(timeout))],
            timeout=timeout + 10,
        )

    def stop(self, mode: StopMode = "fast", *, timeout: float = 60) -> None:
        if not self.is_running():
            return
        self.run(
            ["pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", str(int(timeout))],
            timeout=timeout + 10,
        )

    def kill(self) -> float:
        """SIGKILL the postmaster *and* its children (simulated host loss). Returns kill time."""
        pid = self.postmaster_pid()
        if pid is None:
            raise PgError(f"{self.name} is not running")
        children = [p for p in self._children(pid)]
        t = time.time()
        os.kill(pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in [pid, *children]) and time.monotonic() < deadline:
            time.sleep(0.005)
        return t

    @staticmethod
    def _children(pid: int) -> list[int]:
        out: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
        return out

    # ----------------------------------------------------------------- SQL access

    def connect(self, dbname: str = "postgres", *, timeout: int = 5) -> psycopg.Connection[tuple[Any, ...]]:
        """Superuser connection over the unix socket (peer auth + pg_ident map, no password)."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=SUPERUSER,
            dbname=dbname,
            autocommit=True,
            connect_timeout=timeout,
            application_name="gantry-admin",
        )

    def query_one(self, query: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
        with self.connect() as conn:
            row = conn.execute(query, params).fetchone()
        if row is None:
            raise PgError(f"no row from {query!r}")
        return tuple(row)

    def is_in_recovery(self) -> bool:
        return bool(self.query_one("SELECT pg_is_in_recovery()")[0])

    def current_lsn(self) -> int:
        query = "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END"
        return parse_lsn(str(self.query_one(query)[0]))

    def timeline(self) -> int:
        """Current timeline (primary: from the WAL insert position; standby: last received/replayed)."""
        query = """SELECT CASE WHEN pg_is_in_recovery()
                     THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver),
                                   (SELECT timeline_id FROM pg_control_checkpoint()))
                     ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END"""
        return int(self.query_one(query)[0])

    def checkpoint(self) -> None:
        with self.connect() as conn:
            conn.execute("CHECKPOINT")

    def controldata(self) -> dict[str, str]:
        out = self.run(["pg_controldata", "-D", str(self.data_dir)]).stdout
        return {k.strip(): v.strip() for k, v in (ln.split(":", 1) for ln in out.splitlines() if ":" in ln)}

    def ensure_slot(self, slot: str) -> None:
        with self.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone() is None:
                conn.execute("SELECT pg_create_physical_replication_slot(%s, true)", (slot,))

    def drop_slot(self, slot: str) -> None:
        with self.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone():
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))

    def drop_inactive_slots(self) -> list[str]:
        """Drop slots left behind from an earlier role (they would pin WAL forever)."""
        with self.connect() as conn:
            names = [r[0] for r in conn.execute("SELECT slot_name FROM pg_replication_slots WHERE NOT active")]
            for slot in names:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
        return names

    def set_synchronous_standby_names(self, value: str) -> None:
        """Persist in gantry_node.conf and reload (works on a running primary or standby)."""
        self.synchronous_standby_names = value
        node_conf = self.data_dir / "gantry_node.conf"
        lines = [
            f"synchronous_standby_names = {_quote_guc(value)}" if ln.startswith("synchronous_standby_names") else ln
            for ln in node_conf.read_text().splitlines()
        ]
        self._write(node_conf, "\n".join(lines) + "\n")
        if self.is_running():
            with self.connect() as conn:
                conn.execute("SELECT pg_reload_conf()")
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    row = conn.execute("SHOW synchronous_standby_names").fetchone()
                    if row is not None and row[0] == value:
                        break
                    time.sleep(0.02)

    # ----------------------------------------------------------------- replication

    def wait_streaming(self, upstream: Cluster, timeout: float = 30) -> float:
        """Wait until this standby streams from ``upstream``; returns seconds waited."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            with contextlib.suppress(psycopg.Error):
                with upstream.connect() as conn:
                    row = conn.execute(
                        "SELECT state FROM pg_stat_replication WHERE application_name = %s", (self.name,)
                    ).fetchone()
                if row is not None and row[0] == "streaming":
                    return time.monotonic() - t0
            time.sleep(0.05)
        raise PgError(f"{self.name} is not streaming from {upstream.name} after {timeout}s")

    def wait_replayed(self, lsn: int, timeout: float = 60) -> float:
        """Wait until this standby has replayed WAL *past* ``lsn``."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            replay = self.query_one("SELECT pg_last_wal_replay_lsn()")[0]
            if replay is not None and parse_lsn(str(replay)) > lsn:
                return time.monotonic() - t0
            time.sleep(0.01)
        raise PgError(f"{self.name} did not replay past {format_lsn(lsn)} within {timeout}s")

    def replication_lag(self) -> dict[str, Any]:
        """Lag seen from this node: per-standby rows if primary, receive/replay gap if standby."""
        with self.connect() as conn:
            in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if in_recovery is not None and in_recovery[0]:
                row = conn.execute(
                    """SELECT greatest(0, pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())),
                              extract(epoch FROM now() - pg_last_xact_replay_timestamp()),
                              (SELECT status FROM pg_stat_wal_receiver)"""
                ).fetchone()
                if row is None:
                    raise PgError("no row from standby lag query")
                return {
                    "role": "standby",
                    "receive_replay_gap_bytes": None if row[0] is None else int(row[0]),
                    "since_last_replayed_xact_s": None if row[1] is None else float(row[1]),
                    "wal_receiver": row[2],
                }
            rows = conn.execute(
                """SELECT application_name, state, sync_state,
                          pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn),
                          pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn),
                          pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn),
                          pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn),
                          extract(epoch FROM write_lag), extract(epoch FROM flush_lag),
                          extract(epoch FROM replay_lag)
                   FROM pg_stat_replication"""
            ).fetchall()

        def num(v: Any) -> float | None:
            return None if v is None else float(v)

        return {
            "role": "primary",
            "standbys": [
                {
                    "name": r[0],
                    "state": r[1],
                    "sync_state": r[2],
                    "sent_bytes": num(r[3]),
                    "write_bytes": num(r[4]),
                    "flush_bytes": num(r[5]),
                    "replay_bytes": num(r[6]),
                    "write_lag_s": num(r[7]),
                    "flush_lag_s": num(r[8]),
                    "replay_lag_s": num(r[9]),
                }
                for r in rows
            ],
        }

    # ----------------------------------------------------------------- role changes

    def promote(self, wait_seconds: int = 60) -> float:
        """pg_promote(wait => true); returns seconds until the node accepts writes."""
        t0 = time.monotonic()
        with self.connect() as conn:
            row = conn.execute("SELECT pg_promote(wait => true, wait_seconds => %s)", (wait_seconds,)).fetchone()
        if row is None or not row[0]:
            raise PgError(f"promotion of {self.name} did not finish within {wait_seconds}s")
        took = time.monotonic() - t0
        self.note(f"promoted in {took:.3f}s")
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "standby.signal").unlink()  # already removed by the server; belt and braces
        self.write_config(upstream=None)  # keep gantry_node.conf truthful (no primary_conninfo)
        with self.connect() as conn:
            conn.execute("SELECT pg_reload_conf()")
        return took

    def fence(self, reason: str) -> None:
        """Make it impossible for this node to come back as a second primary.

        1. make sure no postmaster runs (immediate stop, SIGKILL as last resort);
        2. standby.signal + hot_standby=off + empty primary_conninfo: even a manual ``pg_ctl start``
           brings it up in recovery, read-only, accepting no client connections, following nobody;
        3. FENCED marker outside PGDATA (pg_rewind would delete unknown files inside PGDATA):
           :meth:`start` refuses until :meth:`rewind_and_follow` succeeded.
        """
        if self.is_running():
            try:
                self.stop("immediate", timeout=10)
            except PgError:
                self.kill()
        self.note(f"fenced: {reason}")
        marker = {"reason": reason, "at": time.time()}
        self._write(self.fence_file, json.dumps(marker) + "\n", 0o644)
        if self.data_dir.exists():
            self._signal(standby=True)
            self.write_config(upstream=None, fenced=True)

    def follow(self, primary: Cluster, *, timeout: float = 20) -> float:
        """Start this (stopped, not fenced) node as a standby of ``primary``. Returns seconds."""
        if self.is_running():
            raise PgError(f"{self.name} must be stopped before it can follow {primary.name}")
        t0 = time.monotonic()
        primary.ensure_slot(self.name)
        self.write_config(upstream=primary)
        self._signal(standby=True)
        self.check_hot_standby_params()
        self.start()
        self.wait_streaming(primary, timeout=timeout)
        dropped = self.drop_inactive_slots()
        self.note(f"following {primary.name}; dropped stale slots {dropped}")
        return time.monotonic() - t0

    def rewind_and_follow(self, new_primary: Cluster) -> dict[str, Any]:
        """pg_rewind against ``new_primary``, then follow it through a (re)created slot."""
        if self.is_running():
            self.stop("fast")
        self._wait_zombie_reaped()
        t0 = time.monotonic()
        new_primary.checkpoint()  # else pg_control on the source may still show the old timeline
        new_primary.ensure_slot(self.name)  # reserve WAL before pg_rewind copies it
        # pg_rewind runs "postgres --single" for crash recovery when the target was not shut down
        # cleanly; single-user mode refuses standby.signal, so drop it for the duration.
        self._signal(standby=False)
        source = (
            f"host={HOST} port={new_primary.port} user={REPL_USER} dbname=postgres "
            f"passfile={_safe_path(self.secrets.passfile(REPL_USER))} connect_timeout=5"
        )
        proc = self.run(
            ["pg_rewind", f"--target-pgdata={self.data_dir}", f"--source-server={source}", "--progress"], check=False
        )
        t_rewind = time.monotonic() - t0
        self._write(self.log_dir / "pg_rewind.log", proc.stdout + proc.stderr, 0o640)
        self.note(f"pg_rewind rc={proc.returncode} in {t_rewind:.3f}s from {new_primary.name}")
        if proc.returncode != 0:
            self._signal(standby=True)
            raise PgError(f"pg_rewind failed: {proc.stderr.strip()[-2000:]}")
        # pg_rewind copied the source's config files: rewrite ours before starting.
        self.write_config(upstream=new_primary)
        self._signal(standby=True)
        with contextlib.suppress(FileNotFoundError):
            self.fence_file.unlink()
        try:
            follow_s = self.follow(new_primary)
        except Exception:
            self.fence(f"rejoin after rewind failed at {time.time()}")
            raise
        return {
            "pg_rewind_s": round(t_rewind, 3),
            "rewind_needed": "no rewind required" not in proc.stdout + proc.stderr,
            "start_and_stream_s": round(follow_s, 3),
            "total_s": round(time.monotonic() - t0, 3),
        }


# --------------------------------------------------------------------------- role changes


def switchover(old: Cluster, new: Cluster, *, sync: bool = False, wait_seconds: int = 60) -> dict[str, Any]:
    """Planned, lossless role swap: ``old`` primary -> standby, ``new`` standby -> primary.

    Steps: CHECKPOINT on old (short shutdown checkpoint) -> fast shutdown (the walsender ships all
    WAL incl. the shutdown checkpoint to connected standbys before exiting) -> wait until ``new``
    replayed past old's final checkpoint (pg_controldata) -> promote -> old follows new; after a
    clean shutdown no pg_rewind is needed, pg_rewind is used only if streaming does not resume.
    """
    if old.is_in_recovery() or not new.is_in_recovery():
        raise PgError("switchover needs old=primary and new=standby")
    new.wait_streaming(old, timeout=5)
    old.checkpoint()
    t0 = time.monotonic()
    old.stop("fast")
    t_stopped = time.monotonic()
    control = old.controldata()
    if control.get("Database cluster state") != "shut down":
        raise PgError(f"{old.name} did not shut down cleanly: {control.get('Database cluster state')}")
    final_lsn = parse_lsn(control["Latest checkpoint location"])
    new.wait_replayed(final_lsn, timeout=wait_seconds)
    t_caught_up = time.monotonic()
    new.set_synchronous_standby_names("")  # never block the new primary on a standby not yet back
    promote_s = new.promote(wait_seconds)
    t_promoted = time.monotonic()
    rewound = False
    try:
        old.follow(new, timeout=15)
    except PgError:
        old.stop("fast")
        old.rewind_and_follow(new)
        rewound = True
    if sync:
        new.set_synchronous_standby_names(old.name)
    return {
        "final_lsn_old_primary": format_lsn(final_lsn),
        "stop_old_s": round(t_stopped - t0, 3),
        "wait_replay_s": round(t_caught_up - t_stopped, 3),
        "promote_s": round(promote_s, 3),
        "primary_unavailable_s": round(t_promoted - t0, 3),
        "old_rejoined_with_rewind": rewound,
        "old_rejoin_s": round(time.monotonic() - t_promoted, 3),
        "timeline_new_primary": new.timeline(),
    }


def failover(old: Cluster, new: Cluster, *, wait_seconds: int = 60) -> dict[str, Any]:
    """Unplanned: SIGKILL the old primary (host loss), fence it, promote the standby.

    In synchronous mode the new primary's synchronous_standby_names is cleared first: its only
    possible sync standby is the node that just died, so keeping it would block every commit.
    """
    t0 = time.monotonic()
    killed_at = old.kill() if old.is_running() else time.time()
    old.fence("failover: old primary lost")
    t_fenced = time.monotonic()
    new.set_synchronous_standby_names("")
    promote_s = new.promote(wait_seconds)
    return {
        "killed_at": killed_at,
        "kill_and_fence_s": round(t_fenced - t0, 3),
        "promote_s": round(promote_s, 3),
        "kill_to_promoted_s": round(time.monotonic() - t0, 3),
        "timeline_new_primary": new.timeline(),
    }


@contextlib.contextmanager
def app_connection(conninfo: str, **kwargs: Any) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    conn = psycopg.connect(conninfo, autocommit=True, **kwargs)
    try:
        yield conn
    finally:
        conn.close()
