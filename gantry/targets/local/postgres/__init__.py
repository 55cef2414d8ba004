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

The package: host.py (OS user, secrets, constants), node.py (directories, configuration, process, SQL),
access.py (roles, logins, databases), replication.py (standbys, promotion, fencing, switchover, failover).
"""

from __future__ import annotations

from gantry.targets.local.postgres.access import Access
from gantry.targets.local.postgres.host import PG_BIN, FencedError, PgError, RunAs
from gantry.targets.local.postgres.replication import Replication, failover, switchover

__all__ = ["PG_BIN", "Cluster", "FencedError", "PgError", "RunAs", "failover", "switchover"]


class Cluster(Replication, Access):
    """One PostgreSQL 15 cluster (primary or standby) in ``base_dir/name``: a node with its roles and databases,
    and its side of replication."""
