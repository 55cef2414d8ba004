"""One node's directories, configuration, process and superuser SQL access: what the roles and databases
(access.py) and replication (replication.py) are built on."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

from gantry.targets.local.postgres.host import (
    HOST,
    PG_BIN,
    REPL_USER,
    SUPERUSER,
    FencedError,
    PgError,
    RunAs,
    Secrets,
    StopMode,
    alive,
    parse_lsn,
    port_is_free,
    quote_guc,
    safe_path,
)

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
    # that window was seen to wait for the full default 5 s.
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


class Node:
    """One PostgreSQL 15 node (primary or standby) in ``base_dir/name``."""

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

    def _node_conf(self, *, upstream: Node | None, fenced: bool = False) -> str:
        conninfo = self._upstream_conninfo(upstream) if upstream is not None else ""
        lines = {
            "port": str(self.port),
            "unix_socket_directories": quote_guc(safe_path(self.socket_dir)),
            "cluster_name": quote_guc(self.name),
            "synchronous_standby_names": quote_guc(self.synchronous_standby_names),
            "hot_standby": "off" if fenced else "on",
            "primary_conninfo": quote_guc(conninfo),
            "primary_slot_name": quote_guc(self.name if upstream is not None else ""),
        }
        body = "".join(f"{k} = {v}\n" for k, v in lines.items())
        header = f"# managed by gantry (targets/local/postgres) for node {self.name}; rewritten before each start"
        return f"{header}\n{body}"

    def _upstream_conninfo(self, upstream: Node) -> str:
        passfile = safe_path(self.secrets.passfile(REPL_USER))
        return (
            f"host={HOST} port={upstream.port} user={REPL_USER} passfile={passfile} "
            f"application_name={self.name} connect_timeout=2"
        )

    def write_config(self, *, upstream: Node | None, fenced: bool = False) -> None:
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
        return pid if b"postgres" in cmdline and alive(pid) else None

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
        while Path(f"/proc/{first}").exists() and not alive(int(first)) and time.monotonic() < deadline:
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
        while any(alive(p) for p in [pid, *children]) and time.monotonic() < deadline:
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
