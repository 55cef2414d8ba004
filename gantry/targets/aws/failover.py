"""The aws target's side of `gantry dr drill` (the RegionFailover contract): the Aurora global database's
writer and the Route 53 failover record move together.

- planned: `switchover_global_cluster` to the other region's cluster (Aurora waits for the secondary to catch
  up: no data loss); the primary record's health check wants the writer's /healthz (HTTP_STR_MATCH on
  config/health-checks.yaml's primary_search_string), so Route 53 follows the writer by itself.
- unplanned: the region is declared lost: the drill's fault makes the primary record unhealthy (when the lost
  region is the primary one) and `failover_global_cluster(AllowDataLoss=True)` promotes the other region's
  cluster at once, with whatever it had replicated.
- rejoin: the fault is removed; Aurora brings the old writer's cluster back as a secondary by itself; the
  drill waits until the global cluster lists it again with no failover in progress.

A service without a database fails over traffic only (the Route 53 fault).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gantry.errors import GantryError
from gantry.targets.aws.clients import aws_errors
from gantry.targets.aws.drill import PRIMARY, Drill
from gantry.targets.aws.settings import DrSettings
from gantry.targets.base import Note

if TYPE_CHECKING:
    from gantry.targets.aws.target import AwsTarget


class AwsFailover:
    def __init__(self, target: AwsTarget) -> None:
        if target.settings.dr is None:
            raise GantryError("aws.dr is missing: add hosted_zone_id, record_name and health_check_id")
        self.target = target
        self.dr: DrSettings = target.settings.dr
        self.route53 = Drill(target, self.dr)
        self.primary, self.secondary = target.cfg.regions.names

    def _other(self, region: str) -> str:
        return self.secondary if region == self.primary else self.primary

    # --- the global database --------------------------------------------------------------------------
    def _global_cluster(self, region: str) -> dict[str, Any]:
        rds = self.target.clients("rds", region)
        with aws_errors(f"reading global cluster {self.dr.global_cluster_id}", "apply the aurora_global module"):
            found = rds.describe_global_clusters(GlobalClusterIdentifier=self.dr.global_cluster_id)["GlobalClusters"]
        if not found:
            raise GantryError(f"global cluster {self.dr.global_cluster_id} not found: apply the aurora_global module")
        cluster: dict[str, Any] = found[0]
        return cluster

    def _region_of(self, arn: str) -> str:
        for region, known in self.dr.cluster_arns.items():
            if known == arn:
                return region
        raise GantryError(f"the global cluster has member {arn}, which aws.dr.cluster_arns does not name")

    def _members(self, region: str) -> dict[str, bool]:
        """region -> IsWriter, asked in `region` (the other region may not answer during an outage)."""
        cluster = self._global_cluster(region)
        return {self._region_of(m["DBClusterArn"]): bool(m.get("IsWriter")) for m in cluster["GlobalClusterMembers"]}

    def _wait(self, what: str, ask_in: str, done: Any) -> float:
        started = time.monotonic()
        while time.monotonic() - started < self.dr.timeout_seconds:
            cluster = self._global_cluster(ask_in)
            if done(cluster):
                return round(time.monotonic() - started, 3)
            time.sleep(self.dr.poll_seconds)
        raise GantryError(f"{what} not finished after {self.dr.timeout_seconds:g} s: see the RDS console")

    def _writer_is(self, region: str) -> Any:
        def check(cluster: dict[str, Any]) -> bool:
            members = {self._region_of(m["DBClusterArn"]): m.get("IsWriter") for m in cluster["GlobalClusterMembers"]}
            return bool(members.get(region)) and not cluster.get("FailoverState")

        return check

    # --- the contract ---------------------------------------------------------------------------------
    def writer(self) -> str:
        if self.dr.global_cluster_id is None:
            return self.primary if self.route53.answer() == PRIMARY else self.secondary
        writers = [region for region, is_writer in self._members(self.primary).items() if is_writer]
        if len(writers) != 1:
            raise GantryError(f"global cluster {self.dr.global_cluster_id} has {len(writers)} writers: see RDS")
        return writers[0]

    def preflight(self, env: str) -> list[str]:
        if env != self.dr.environment:
            return [f"aws.dr describes {self.dr.environment}, not {env}"]
        release = self.target.current_release(env, self.primary)
        if release is None:
            return [f"nothing deployed to {env} in {self.primary}: deploy before drilling"]
        self.route53.records()
        evidence: dict[str, Any] = self.route53.preflight(release)
        problems = self.route53.blockers(evidence)
        if self.dr.global_cluster_id is not None:
            cluster = self._global_cluster(self.primary)
            if cluster.get("FailoverState"):
                problems.append(f"global cluster {self.dr.global_cluster_id} is already failing over")
            if set(self._members(self.primary)) != set(self.dr.cluster_arns):
                problems.append("the global cluster does not have both regions' clusters as members")
        elif self.target.cfg.service.database is not None:
            problems.append("the service has a database but aws.dr.global_cluster_id is not set: import it")
        return problems

    def replication(self) -> dict[str, Any]:
        """AuroraGlobalDBReplicationLag (milliseconds) of the secondary cluster, its last minute."""
        if self.dr.global_cluster_id is None:
            return {}
        writer = self.writer()
        standby = self._other(writer)
        cloudwatch = self.target.clients("cloudwatch", standby)
        now = datetime.now(UTC)
        with aws_errors("reading the replication lag"):
            points = cloudwatch.get_metric_statistics(
                Namespace="AWS/RDS",
                MetricName="AuroraGlobalDBReplicationLag",
                Dimensions=[{"Name": "DBClusterIdentifier", "Value": self.dr.cluster_arns[standby].split(":")[-1]}],
                StartTime=now - timedelta(minutes=1),
                EndTime=now,
                Period=60,
                Statistics=["Maximum"],
            )["Datapoints"]
        lag = max((p["Maximum"] for p in points), default=None)
        return {standby: {"role": "standby", "lag_seconds": None if lag is None else lag / 1000}}

    def fail(self, env: str, region: str, *, planned: bool, note: Note) -> dict[str, Any]:
        other = self._other(region)
        steps: dict[str, Any] = {}
        if not planned and region == self.primary:
            note(f"declaring {region} lost: the primary record's health check fails")
            self.route53.inject(failing=True)
        if self.dr.global_cluster_id is None:
            if planned:
                self.route53.inject(failing=True)  # traffic only: a planned move is the same fault
            return steps
        rds = self.target.clients("rds", other)  # the surviving region answers even if `region` does not
        target_arn = self.dr.cluster_arns[other]
        if planned:
            note(f"switching the Aurora writer over to {other}")
            with aws_errors("switchover_global_cluster"):
                rds.switchover_global_cluster(
                    GlobalClusterIdentifier=self.dr.global_cluster_id, TargetDbClusterIdentifier=target_arn
                )
        else:
            note(f"failing the Aurora writer over to {other}, accepting the loss of unreplicated writes")
            with aws_errors("failover_global_cluster"):
                rds.failover_global_cluster(
                    GlobalClusterIdentifier=self.dr.global_cluster_id,
                    TargetDbClusterIdentifier=target_arn,
                    AllowDataLoss=True,
                )
        steps["database_s"] = self._wait(f"moving the writer to {other}", other, self._writer_is(other))
        return steps

    def rejoin(self, env: str, region: str, note: Note) -> dict[str, Any]:
        steps: dict[str, Any] = {}
        inverted = self.route53.route53.get_health_check(HealthCheckId=self.dr.health_check_id)["HealthCheck"]
        if inverted["HealthCheckConfig"].get("Inverted") or self.dr.fault == "alarm-state":
            note("removing the drill's fault from the primary record's health check")
            self.route53.inject(failing=False)
        if self.dr.global_cluster_id is not None:
            note(f"waiting for {region}'s cluster to rejoin the global cluster as a secondary")
            other = self._other(region)

            def rejoined(cluster: dict[str, Any]) -> bool:
                members = {self._region_of(m["DBClusterArn"]) for m in cluster["GlobalClusterMembers"]}
                return region in members and not cluster.get("FailoverState")

            steps["database_s"] = self._wait(f"{region} rejoining", other, rejoined)
        return steps

    def simulated(self) -> list[str]:
        notes = list(self.route53.simulated())
        notes.append("a lost region is declared (health check fault, failover_global_cluster), not cut off")
        return notes
