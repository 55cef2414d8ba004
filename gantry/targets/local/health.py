"""The health-check numbers of config/health-checks.yaml, as the local target uses them, on the path the service's
contract declares (`health.path`).

Terraform reads the same file and contract for the ALB target group and the Route 53 failover health checks; here
the paths and thresholds are the same and every duration is multiplied by `local.time_scale`, so a local rollout
or failover takes seconds where AWS takes tens of seconds, in the same number of checks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError

from gantry.errors import ConfigError
from gantry.paths import project_root
from gantry.schema import Strict

SOURCE = Path("config/health-checks.yaml")


class TargetGroupChecks(Strict):
    interval_seconds: int = Field(ge=5, le=300)
    timeout_seconds: int = Field(ge=2, le=120)
    healthy_threshold: int = Field(ge=2, le=10)
    unhealthy_threshold: int = Field(ge=2, le=10)
    deregistration_delay_seconds: int = Field(ge=0, le=3600)


class FailoverChecks(Strict):
    request_interval_seconds: Literal[10, 30]
    failure_threshold: int = Field(ge=1, le=10)
    primary_search_string: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^'\n]*$")


class HealthChecks(Strict):
    target_group: TargetGroupChecks
    failover: FailoverChecks


@dataclass(frozen=True)
class Check:
    """One HAProxy health check, durations already scaled."""

    path: str
    interval: float
    timeout: float
    rise: int
    fall: int
    expect_string: str | None = None  # the body must contain this (else HTTP 200 is enough)


def load(root: Path | None = None) -> HealthChecks:
    path = (root or project_root()) / SOURCE
    try:
        return HealthChecks.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(
            f"{path} is missing or invalid ({str(exc).splitlines()[0][:160]}): restore it from git"
        ) from None


def target_group(scale: float, path: str, root: Path | None = None) -> tuple[Check, float]:
    """(replica health check on `path`, deregistration delay) for the regional load balancers."""
    group = load(root).target_group
    check = Check(
        path=path,
        interval=group.interval_seconds * scale,
        timeout=group.timeout_seconds * scale,
        rise=group.healthy_threshold,
        fall=group.unhealthy_threshold,
    )
    return check, group.deregistration_delay_seconds * scale


def failover(scale: float, path: str, root: Path | None = None, *, has_database: bool = False) -> tuple[Check, Check]:
    """The global entry's checks on `path` of the (primary, secondary) region (Route 53 uses one threshold for
    failing and recovering). With a database the primary's check also wants the writer's search string."""
    checks = load(root).failover
    interval = checks.request_interval_seconds * scale
    secondary = Check(
        path=path,
        interval=interval,
        timeout=min(interval / 2, 4.0),
        rise=checks.failure_threshold,
        fall=checks.failure_threshold,
    )
    primary = replace(secondary, expect_string=checks.primary_search_string if has_database else None)
    return primary, secondary
