"""The environments' CloudWatch alarms: what `gantry status` shows firing and what `gantry verify` needs quiet.
An environment stack names its alarms (and its cluster) <customer>-<stack>-..., which is all a role is granted
to read (terraform/modules/pipeline_iam)."""

from __future__ import annotations

from typing import Any

from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.targets.aws.clients import Clients, aws_errors
from gantry.targets.aws.settings import AwsSettings
from gantry.targets.base import Alert


class Alarms:
    def __init__(self, clients: Clients, cfg: GantryConfig, settings: AwsSettings) -> None:
        self.clients, self.cfg, self.settings = clients, cfg, settings

    def _prefixes(self, envs: list[str]) -> dict[str, set[str]]:
        """region -> the alarm name prefixes of `envs` there."""
        found: dict[str, set[str]] = {}
        for env in envs:
            for region in self.cfg.regions_of(env):
                found.setdefault(region, set()).add(f"{self.settings.cluster(env, region)}-")
        return found

    def _alarms(self, region: str, prefix: str, **filters: str) -> list[dict[str, Any]]:
        with aws_errors(f"describe_alarms in {region}"):
            found: list[dict[str, Any]] = self.clients("cloudwatch", region).describe_alarms(
                AlarmNamePrefix=prefix, **filters
            )["MetricAlarms"]
        return found

    def firing(self) -> list[Alert]:
        """Every environment's alarms in ALARM, in both regions."""
        firing = []
        for region, prefixes in self._prefixes(list(self.cfg.environments)).items():
            alarms = [a for prefix in sorted(prefixes) for a in self._alarms(region, prefix, StateValue="ALARM")]
            firing += [
                Alert(
                    name=f"{region}:{alarm['AlarmName']}",
                    severity="alarm",
                    summary=alarm.get("AlarmDescription") or alarm.get("StateReason", ""),
                    since=str(alarm.get("StateUpdatedTimestamp", "")),
                )
                for alarm in alarms
            ]
        return firing

    def verify(self, env: str) -> str:
        """Every alarm of the environment's services is OK (none in ALARM); GantryError naming them otherwise."""
        firing = []
        for region, prefixes in self._prefixes([env]).items():
            alarms = [a for prefix in sorted(prefixes) for a in self._alarms(region, prefix)]
            firing += [f"{region}:{a['AlarmName']}" for a in alarms if a.get("StateValue") == "ALARM"]
        if firing:
            raise GantryError(f"CloudWatch alarms firing for {env}: {', '.join(firing)[:200]}: investigate first")
        return "no CloudWatch alarm firing"
