"""The local target's databases: one PostgreSQL 15 cluster per region, region 1's the primary and region 2's a
hot standby fed by streaming replication (the local stand-in for an Aurora global database), with one database
per environment (`<service>_<environment>`).

Each environment has its own two logins, `<database>_app` for its replicas and `<database>_owner` for its
migrations, members of the service's shared roles (whose grants the migrations name), and pg_hba.conf admits
each only to its own environment's database: a staging replica or a staging migration (an unapproved commit's
code) holds no credential that opens production's database.

Each region's replicas use their own region's cluster, through its UNIX socket directory mounted read-only
into the container, with their login's password as a read-only secret file: so a standby region answers
reads and refuses writes until its cluster is promoted. Credentials are generated into the run directory
(0600, or a 0444 copy only for the mount) and reach no argv, environment dump or log.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gantry.errors import GantryError
from gantry.targets.local import postgres
from gantry.targets.local.layout import Layout

SOCKET_MOUNT = "/run/postgresql"  # where replicas see their region's socket directory


@dataclass(frozen=True)
class NodeStatus:
    """One region's cluster as monitoring sees it."""

    region: str
    role: Literal["primary", "standby", "down", "fenced"]
    # A standby: whether it streams from the writer, and how far behind it is (bytes not yet replayed,
    # seconds of replay lag as the writer measures it; 0 when idle and caught up).
    streaming: bool | None = None
    lag_bytes: float | None = None
    lag_seconds: float | None = None


class Databases:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.cfg = layout.cfg
        self.app = self.cfg.service.name.replace("-", "_")

    @property
    def enabled(self) -> bool:
        return self.cfg.service.database is not None

    def cluster(self, region: str) -> postgres.Cluster:
        port = self.layout.settings.regions[region].database_port
        if port is None:
            raise GantryError(f"local.regions.{region}.database_port is not set: the service has a database")
        logins = {self.name(env): list(self.logins(env)) for env in self.cfg.environments}
        return postgres.Cluster(
            f"db_{region.replace('-', '_')}", self.layout.databases, port, app=self.app, logins=logins
        )

    def name(self, env: str) -> str:
        return f"{self.app}_{env.replace('-', '_')}"

    def logins(self, env: str) -> tuple[str, str]:
        """`env`'s own (service, schema owner) login roles."""
        return f"{self.name(env)}_app", f"{self.name(env)}_owner"

    def up(self) -> None:
        """Region 1's primary and region 2's standby, made on first use and started if they stopped (a fenced
        node stays down: `gantry dr` decides when it rejoins)."""
        if not self.enabled:
            return
        primary_region, secondary_region = self.cfg.regions.names
        primary, standby = self.cluster(primary_region), self.cluster(secondary_region)
        self.layout.databases.mkdir(mode=0o711, parents=True, exist_ok=True)
        try:
            postgres.RunAs.detect().check_traversable(self.layout.databases)
        except postgres.PgError as exc:
            raise GantryError(
                f"{exc}: PostgreSQL runs as that user; make the directory reachable (chmod o+x)"
            ) from None
        if not primary.data_dir.exists():
            primary.init_primary()
        elif not primary.is_running() and not primary.is_fenced():
            primary.start()
        writer = self.writer()
        if writer is not None:
            self._environments(writer)
        if not standby.data_dir.exists():
            standby.init_standby(primary)
        elif not standby.is_running() and not standby.is_fenced():
            standby.start()
        if writer is not None:
            for node in (primary, standby):
                if node.name != writer.name and node.data_dir.exists():
                    # The other region's node takes over the logins when it is promoted (secret distribution).
                    node.secrets.copy_from(
                        writer.secrets, [r for env in self.cfg.environments for r in self.logins(env)]
                    )
        for node in (primary, standby):
            if node.data_dir.exists() and not node.is_fenced():
                node.ensure_hba()

    def _environments(self, writer: postgres.Cluster) -> None:
        """Each environment's database, owned by its own owner login, and its service login (idempotent). No
        login belongs to a role that owns another environment's database (none can alter, lock or drop it);
        the service logins belong to the shared service role, which the migrations grant their tables to."""
        for env in self.cfg.environments:
            app, owner = self.logins(env)
            writer.ensure_login(owner)
            writer.ensure_login(app, member_of=writer.app_user)
            writer.create_database(self.name(env), owner=owner, app=app)

    def down(self) -> None:
        if not self.enabled:
            return
        for region in self.cfg.regions.names:
            with contextlib.suppress(Exception):  # best effort: `gantry down` removes the directory anyway
                node = self.cluster(region)
                if node.is_running():
                    node.stop("immediate")
        if self.layout.databases.exists():
            shutil.rmtree(self.layout.databases)

    def writer(self) -> postgres.Cluster | None:
        """The cluster that takes writes now (region 1's, until a drill or a failover promotes region 2's)."""
        for region in self.cfg.regions.names:
            node = self.cluster(region)
            with contextlib.suppress(Exception):  # a node that does not answer takes no writes
                if node.is_running() and not node.is_in_recovery():
                    return node
        return None

    def status(self) -> list[NodeStatus]:
        """Every region's cluster: its role and, for a standby, its replication from the writer."""
        roles: dict[str, NodeStatus] = {}
        for region in self.cfg.regions.names:
            node = self.cluster(region)
            role: Literal["primary", "standby", "down", "fenced"] = "fenced" if node.is_fenced() else "down"
            with contextlib.suppress(Exception):  # a node that does not answer is down
                if node.is_running():
                    role = "standby" if node.is_in_recovery() else "primary"
            roles[region] = NodeStatus(region, role)
        writer = next((self.cluster(r) for r, s in roles.items() if s.role == "primary"), None)
        if writer is None:
            return list(roles.values())
        with contextlib.suppress(Exception):  # the writer stopped answering since: no replication figures
            standbys = {row["name"]: row for row in writer.replication_lag()["standbys"]}
            for region, node_status in roles.items():
                if node_status.role == "standby":
                    row = standbys.get(self.cluster(region).name)
                    roles[region] = NodeStatus(
                        region,
                        "standby",
                        streaming=bool(row and row["state"] == "streaming"),
                        lag_bytes=row["replay_bytes"] if row else None,
                        lag_seconds=(row["replay_lag_s"] or 0.0) if row else None,
                    )
        return list(roles.values())

    def replica_conninfo(self, env: str, region: str) -> str:
        """DATABASE_URL as `env`'s replicas in `region` see it: the socket mount, their own login, no password."""
        app, _ = self.logins(env)
        return f"host={SOCKET_MOUNT} port={self.cluster(region).port} dbname={self.name(env)} user={app}"

    def secret_path(self, env: str, region: str) -> Path:
        """Where the password file of `env`'s replicas in `region` is (secret_file writes it)."""
        app, _ = self.logins(env)
        return self.layout.root / "secrets" / f"{region}-{app}.password"

    def secret_file(self, env: str, region: str) -> Path:
        """`env`'s service login's password as a file its replicas mount (0444: the container's unprivileged
        user reads it; the directory holding it is 0700, so nobody else on the machine does)."""
        app, _ = self.logins(env)
        node = self.cluster(region)
        return self._mountable(self.secret_path(env, region).name, node.secrets.password(app, create=False))

    def owner_secret_file(self, env: str) -> Path:
        """`env`'s schema owner's password as a file its one-off migration container mounts (like secret_file)."""
        _, owner = self.logins(env)
        node = self._writer()
        return self._mountable(f"{owner}.password", node.secrets.password(owner, create=False))

    def _mountable(self, name: str, password: str) -> Path:
        directory = self.layout.root / "secrets"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = directory / name
        if not path.is_file() or path.read_text().strip() != password:
            fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o444)
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            path.with_suffix(".tmp").replace(path)
        return path

    def _writer(self) -> postgres.Cluster:
        node = self.writer()
        if node is None:
            raise GantryError("no region's database takes writes: run `gantry up` (or finish the DR drill)")
        return node

    def writer_region(self) -> str:
        """The region whose cluster takes writes now."""
        node = self._writer()
        return next(region for region in self.cfg.regions.names if self.cluster(region).name == node.name)

    def owner_conninfo(self, env: str) -> str:
        """DATABASE_URL of `env`'s database on the writer as the schema owner, as a container sees it (the
        socket mount, no password)."""
        _, owner = self.logins(env)
        return f"host={SOCKET_MOUNT} port={self._writer().port} dbname={self.name(env)} user={owner}"

    def mounts(self, region: str) -> dict[str, str]:
        """host path -> container path, read-only, for a replica in `region`."""
        return {str(self.cluster(region).socket_dir): SOCKET_MOUNT}
