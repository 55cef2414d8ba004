"""The local target's side of `gantry dr drill` (the RegionFailover contract): the two regions' PostgreSQL
clusters and load balancers are real processes, so a region is failed for real.

- planned: a switchover (gantry.targets.local.postgres.switchover): the writer checkpoints and shuts down
  cleanly, the standby replays its last WAL and is promoted, the old writer follows it. Nothing acknowledged
  is lost. The load balancers stay up; the global entry moves because its check of the primary region wants
  the database writer.
- unplanned: the region is lost: its load balancer and its database primary are SIGKILLed, the database is
  fenced (it can only come back through rejoin, as a standby), the other region's standby is promoted.
- rejoin: the failed region's database is rewound with pg_rewind (if it must be) to follow the new writer,
  its load balancer is started again with its recorded replicas.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from gantry.errors import GantryError
from gantry.host import processes
from gantry.targets.base import Note
from gantry.targets.local import balancers, postgres

if TYPE_CHECKING:
    from gantry.targets.local.target import LocalTarget


class LocalFailover:
    def __init__(self, target: LocalTarget) -> None:
        self.target = target
        self.cfg = target.cfg
        self.databases = target.databases

    def _other(self, region: str) -> str:
        first, second = self.cfg.regions.names
        return second if region == first else first

    def writer(self) -> str:
        nodes = {node.region: node.role for node in self.databases.status()}
        writers = [region for region, role in nodes.items() if role == "primary"]
        if len(writers) != 1:
            raise GantryError(f"expected one database writer, found {len(writers)} ({nodes}): see `gantry status`")
        return writers[0]

    def preflight(self, env: str) -> list[str]:
        if not self.databases.enabled:
            return ["the service has no database (service.database): there is nothing to fail over"]
        problems = []
        if self.target.global_endpoint(env) is None:
            problems.append(f"{env} has no global entry point: set local.global_ports.{env}")
        regions = self.cfg.regions_of(env)
        if len(regions) != 2:
            problems.append(f"{env} runs in {len(regions)} region(s): a drill needs both")
        for node in self.databases.status():
            if node.role in ("down", "fenced"):
                problems.append(f"the {node.region} database is {node.role}: run `gantry up` (or `gantry dr rejoin`)")
            elif node.role == "standby" and not node.streaming:
                problems.append(
                    f"the {node.region} standby does not stream from the writer: a failover would lose data"
                )
        releases = {region: self.target.current_release(env, region) for region in regions}
        if None in releases.values() or len(set(releases.values())) != 1:
            problems.append(f"{env} must serve one release in both regions first (now {releases}): deploy it")
        for region in regions:
            health = self.target.health(env, region)
            if not health.ok:
                problems.append(f"{env} in {region} has {health.healthy}/{health.desired} healthy replicas")
        return problems

    def replication(self) -> dict[str, Any]:
        return {
            node.region: {"role": node.role, "lag_bytes": node.lag_bytes, "lag_seconds": node.lag_seconds}
            for node in self.databases.status()
        }

    def fail(self, env: str, region: str, *, planned: bool, note: Note) -> dict[str, Any]:
        old, new = self.databases.cluster(region), self.databases.cluster(self._other(region))
        if planned:
            note(f"switching the database writer over from {region} to {self._other(region)}")
            return {"database": postgres.switchover(old, new)}
        started = time.monotonic()
        balancer = balancers.regional(self.target.layout, region, env)
        note(f"losing {region}: killing its {env} load balancer and its database primary")
        processes.kill(balancer.name)
        killed = time.monotonic() - started
        steps = postgres.failover(old, new)  # kill -9, fence, promote
        return {"load_balancer_killed_s": round(killed, 3), "database": steps}

    def rejoin(self, env: str, region: str, note: Note) -> dict[str, Any]:
        node, writer = self.databases.cluster(region), self.databases.cluster(self._other(region))
        steps: dict[str, Any] = {}
        if node.is_fenced() or not node.is_running():
            note(f"rewinding the {region} database to follow {self._other(region)}")
            steps["database"] = node.rewind_and_follow(writer)
        else:
            node.wait_streaming(writer)
        started = time.monotonic()
        balancer = balancers.regional(self.target.layout, region, env)
        if not balancer.running():
            note(f"starting the {env} load balancer of {region} with its recorded replicas")
            self.target.up()
        place = self.target.region(env, region)
        record = place.record
        if record is not None:
            place.balancer.wait_up([r.name for r in record.replicas], self.target.settings.health_timeout_seconds)
        steps["load_balancer_s"] = round(time.monotonic() - started, 3)
        return steps

    def simulated(self) -> list[str]:
        return [
            "a lost region is its load balancer and database processes killed with SIGKILL on one machine; "
            "its replicas keep running (they fail their checks without their database), the network between "
            "the regions is never cut"
        ]
