"""Streaming replication between nodes: standbys fed through physical slots, their lag, promotion, fencing and
rejoining with pg_rewind, and the planned and unplanned role changes built on them."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import psycopg

from gantry.targets.local.postgres.host import HOST, REPL_USER, PgError, format_lsn, parse_lsn, quote_guc, safe_path
from gantry.targets.local.postgres.node import Node


class Replication(Node):
    """A node's side of replication: following an upstream, being followed, changing role."""

    def set_synchronous_standby_names(self, value: str) -> None:
        """Persist in gantry_node.conf and reload (works on a running primary or standby)."""
        self.synchronous_standby_names = value
        node_conf = self.data_dir / "gantry_node.conf"
        lines = [
            f"synchronous_standby_names = {quote_guc(value)}" if ln.startswith("synchronous_standby_names") else ln
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

    def init_standby(self, primary: Replication) -> dict[str, float]:
        """pg_basebackup from ``primary`` with a physical slot named after this node."""
        if self.data_dir.exists():
            raise PgError(f"{self.data_dir} already exists")
        self.synchronous_standby_names = ""
        self._prepare_dirs()
        self.secrets.copy_from(primary.secrets, [REPL_USER, self.app_user, self.owner_user])
        primary.drop_slot(self.name)
        t0 = time.monotonic()
        # -R is deliberately NOT used: it copies the password libpq read from the passfile into
        # postgresql.auto.conf in clear. We write primary_conninfo with passfile=.
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

    def wait_streaming(self, upstream: Replication, timeout: float = 30) -> float:
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

    def follow(self, primary: Replication, *, timeout: float = 20) -> float:
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

    def rewind_and_follow(self, new_primary: Replication) -> dict[str, Any]:
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
            f"passfile={safe_path(self.secrets.passfile(REPL_USER))} connect_timeout=5"
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


def switchover(old: Replication, new: Replication, *, sync: bool = False, wait_seconds: int = 60) -> dict[str, Any]:
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


def failover(old: Replication, new: Replication, *, wait_seconds: int = 60) -> dict[str, Any]:
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
