"""A node's roles, who may log in to which database (pg_hba.conf), and its databases and their owners."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping

from psycopg import sql

from gantry.database import ensure_database, scram_verifier
from gantry.targets.local.postgres.host import HOST, REPL_USER, SUPERUSER, PgError
from gantry.targets.local.postgres.node import CLUSTER_SETTINGS, Node

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


class Access(Node):
    """Roles, logins and databases: made on the primary, replicated to standbys."""

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
