"""The Route 53 failover pair of the aws target's DR drill (gantry.targets.aws.failover): which record
answers, the drill's fault on the primary record's health check, and the checks before a drill may start.

Which record answers comes from a resolver:
- `route53` (real AWS): Route 53's own health checkers (get_health_check_status; healthy when more than 18%
  of checkers report success, Route 53's rule), so detection latency is Route 53's.
- `evaluate` (a local AWS API such as moto, which runs no health checkers and does not implement
  TestDNSAnswer): gantry applies the failover rule itself to the health check's Inverted flag and the
  alarm's state, read back from the API. The report lists this under "simulated".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gantry.errors import GantryError
from gantry.targets.aws.clients import aws_errors
from gantry.targets.aws.settings import DrSettings
from gantry.targets.base import Release

if TYPE_CHECKING:
    from gantry.targets.aws.target import AwsTarget

PRIMARY, SECONDARY = "PRIMARY", "SECONDARY"


class Drill:
    def __init__(
        self,
        target: AwsTarget,
        dr: DrSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = target
        self.dr = dr
        self.clock = clock
        self.primary = target.cfg.regions.primary
        self.secondary = target.cfg.regions.secondary
        self.route53 = target.clients("route53", self.primary)
        self.cloudwatch = target.clients("cloudwatch", self.primary)

    # --- what Route 53 answers ----------------------------------------------------------------------
    def answer(self) -> str:
        return PRIMARY if self.primary_healthy() else SECONDARY

    def primary_healthy(self) -> bool:
        with aws_errors(f"reading health check {self.dr.health_check_id}"):
            if self.dr.resolver == "route53":
                observations = self.route53.get_health_check_status(HealthCheckId=self.dr.health_check_id)[
                    "HealthCheckObservations"
                ]
                good = sum(o["StatusReport"]["Status"].startswith("Success") for o in observations)
                return bool(observations) and good / len(observations) > 0.18
            check = self.route53.get_health_check(HealthCheckId=self.dr.health_check_id)["HealthCheck"]
            healthy = True
            if self.dr.alarm_name:
                alarms = self.cloudwatch.describe_alarms(AlarmNames=[self.dr.alarm_name])["MetricAlarms"]
                healthy = not alarms or alarms[0]["StateValue"] != "ALARM"
            return healthy != bool(check["HealthCheckConfig"].get("Inverted", False))

    def records(self) -> dict[str, dict[str, Any]]:
        name = self.dr.record_name.rstrip(".") + "."
        with aws_errors(f"reading failover record {name}", "apply the Terraform stack"):
            found = self.route53.list_resource_record_sets(HostedZoneId=self.dr.hosted_zone_id, StartRecordName=name)[
                "ResourceRecordSets"
            ]
        pair = {r["Failover"]: r for r in found if r["Name"] == name and r.get("Failover")}
        if set(pair) != {PRIMARY, SECONDARY}:
            raise GantryError(f"{name} is not a PRIMARY/SECONDARY failover pair: fix the Route 53 records")
        if pair[PRIMARY].get("HealthCheckId") != self.dr.health_check_id:
            raise GantryError(f"the PRIMARY record of {name} does not use health check {self.dr.health_check_id}")
        return pair

    # --- fault injection ------------------------------------------------------------------------------
    def inject(self, failing: bool) -> None:
        with aws_errors("injecting the drill fault" if failing else "restoring after the drill"):
            if self.dr.fault == "invert-health-check":
                self.route53.update_health_check(HealthCheckId=self.dr.health_check_id, Inverted=failing)
            else:
                self.cloudwatch.set_alarm_state(
                    AlarmName=self.dr.alarm_name,
                    StateValue="ALARM" if failing else "OK",
                    StateReason="gantry dr drill" + ("" if failing else ": restored"),
                )

    # --- the drill -----------------------------------------------------------------------------------
    def preflight(self, release: Release) -> dict[str, Any]:
        env = self.dr.environment
        digests = {
            region: self.target.ecr.find(region, digest=release.digest) is not None
            for region in (self.primary, self.secondary)
        }
        service = self.target.deployer(env, self.secondary).describe()
        required = self.target.cfg.replicas(env)
        capacity = {
            "region": self.secondary,
            "service": service["serviceName"],
            "desired": service.get("desiredCount", 0),
            "running": service.get("runningCount", 0),
            "required": required,
        }
        capacity["ok"] = capacity["running"] >= required and capacity["desired"] >= required
        secondary_release = self.target.current_release(env, self.secondary)
        return {
            "digests_present": digests,
            "capacity": capacity,
            "secondary_release_matches": secondary_release == release,
        }

    def blockers(self, evidence: dict[str, Any]) -> list[str]:
        problems = [f"image missing in {r}" for r, ok in evidence["digests_present"].items() if not ok]
        if not evidence["capacity"]["ok"]:
            problems.append(f"not enough capacity in {self.secondary}: {evidence['capacity']}")
        if not evidence["secondary_release_matches"]:
            problems.append(f"{self.secondary} does not run the primary's release: deploy it first")
        if self.answer() != PRIMARY:
            problems.append("the failover record already answers SECONDARY: the primary is unhealthy")
        return problems

    def simulated(self) -> list[str]:
        notes = []
        if self.dr.resolver == "evaluate":
            notes.append(
                "failover answer computed by gantry from the health check's Inverted flag and alarm "
                "state (no Route 53 health checkers): Route 53's detection latency is not measured"
            )
        return notes
