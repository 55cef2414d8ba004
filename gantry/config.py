"""The customer environment file (environments/<customer>/<env>.yaml), validated with pydantic.

The local and aws targets read the same file; `target` picks which one runs the stages.
Unknown fields are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gantry.errors import ConfigError
from gantry.paths import project_root
from gantry.targets.aws.settings import AwsSettings

DEFAULT_CONFIG = "environments/example/local.yaml"

# Commercial AWS regions; the local target mirrors these names so one file describes both targets.
AWS_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "sa-east-1",
    }
)

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")]
Port = Annotated[int, Field(ge=1024, le=65535)]
RegionRole = Literal["primary", "secondary"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceConfig(Strict):
    name: Name
    container_port: int = Field(default=80, ge=1, le=65535)
    cpu: int = Field(default=256, ge=128)
    memory: int = Field(default=256, ge=64)
    context: str = "app"
    dockerfile: str = "app/Dockerfile"
    task_definition: str = "app/task-definition.json.tpl"
    unit_tests: list[str] = ["app/tests"]


class RegionsConfig(Strict):
    primary: str
    secondary: str

    @field_validator("primary", "secondary")
    @classmethod
    def known_region(cls, value: str) -> str:
        if value not in AWS_REGIONS:
            raise ValueError(f"'{value}' is not an AWS region name (e.g. us-east-1, eu-west-1)")
        return value

    @model_validator(mode="after")
    def distinct(self) -> RegionsConfig:
        if self.primary == self.secondary:
            raise ValueError("primary and secondary must be different regions")
        return self

    def resolve(self, role: RegionRole) -> str:
        return self.primary if role == "primary" else self.secondary

    @property
    def names(self) -> list[str]:
        return [self.primary, self.secondary]


class EnvironmentConfig(Strict):
    # Order matters: production deploys region by region in this order.
    regions: list[RegionRole] = Field(min_length=1)
    replicas: int = Field(default=2, ge=1, le=10)
    requires_approval: bool = False

    @field_validator("regions")
    @classmethod
    def no_repeats(cls, value: list[RegionRole]) -> list[RegionRole]:
        if len(set(value)) != len(value):
            raise ValueError("a region may appear only once")
        return value


class ApprovalConfig(Strict):
    approvers: list[Name] = Field(min_length=1)
    timeout_seconds: float = Field(default=3600, gt=0)
    max_age_hours: float = Field(default=24, gt=0)


class NotificationConfig(Strict):
    file: str | None = "notifications.jsonl"
    webhook_urls: list[str] = []
    # Names of environment variables holding secrets, never the secrets themselves.
    slack_webhook_url_env: str | None = None
    sns_topic_arn: str | None = None


class LocalRegionConfig(Strict):
    registry_port: Port
    lb_ports: dict[Name, Port]


class BaseImageConfig(Strict):
    # An upstream image to pull (e.g. a mirror of debian:bookworm-slim); empty means build from Debian's archive.
    upstream: str | None = None
    # A locally baked image to use instead, e.g. localhost/gantry/golden-base:bookworm from
    # `gantry bake --target container` (the Ansible-hardened golden base).
    local_image: str | None = None
    suite: str = "bookworm"
    mirror: str | None = None


class LocalConfig(Strict):
    regions: dict[str, LocalRegionConfig]
    prometheus_port: Port
    alertmanager_port: Port
    webhook_port: Port
    base_image: BaseImageConfig = BaseImageConfig()
    health_timeout_seconds: float = Field(default=60, gt=0)
    drain_seconds: float = Field(default=2, ge=0)
    scrape_interval_seconds: int = Field(default=2, ge=1)


class GantryConfig(Strict):
    customer: Name
    target: Literal["local", "aws"] = "local"
    service: ServiceConfig
    regions: RegionsConfig
    environments: dict[Name, EnvironmentConfig]
    approvals: ApprovalConfig
    notifications: NotificationConfig = NotificationConfig()
    local: LocalConfig | None = None
    aws: AwsSettings | None = None

    @model_validator(mode="after")
    def consistent(self) -> GantryConfig:
        for required in ("staging", "production"):
            if required not in self.environments:
                raise ValueError(f"environments must define '{required}'")
        if not self.environments["production"].requires_approval:
            raise ValueError("environments.production.requires_approval must be true")
        if self.target == "local":
            self._check_local()
        if self.target == "aws" and self.aws is None:
            raise ValueError("target 'aws' needs an 'aws' section")
        return self

    def _check_local(self) -> None:
        if self.local is None:
            raise ValueError("target 'local' needs a 'local' section")
        if set(self.local.regions) != set(self.regions.names):
            raise ValueError(
                f"local.regions must list exactly {self.regions.names}, found {sorted(self.local.regions)}"
            )
        ports = [self.local.prometheus_port, self.local.alertmanager_port, self.local.webhook_port]
        for name, region in self.local.regions.items():
            ports.append(region.registry_port)
            ports.extend(region.lb_ports.values())
            for env_name, env in self.environments.items():
                if name in [self.regions.resolve(r) for r in env.regions] and env_name not in region.lb_ports:
                    raise ValueError(f"local.regions.{name}.lb_ports needs a port for '{env_name}'")
        duplicates = sorted({p for p in ports if ports.count(p) > 1})
        if duplicates:
            raise ValueError(f"ports used twice in local: {duplicates}")

    def environment(self, name: str) -> EnvironmentConfig:
        try:
            return self.environments[name]
        except KeyError:
            raise ConfigError(f"unknown environment '{name}': choose one of {', '.join(self.environments)}") from None

    def regions_of(self, env: str) -> list[str]:
        return [self.regions.resolve(role) for role in self.environment(env).regions]

    def check_region(self, env: str, region: str) -> str:
        if region not in self.regions_of(env):
            raise ConfigError(
                f"environment '{env}' does not run in region '{region}': use one of {self.regions_of(env)}"
            )
        return region

    @property
    def local_settings(self) -> LocalConfig:
        if self.local is None:
            raise ConfigError("this configuration has no 'local' section: add one or use the aws target")
        return self.local


def config_path(explicit: str | None = None) -> Path:
    raw = explicit or os.environ.get("GANTRY_CONFIG") or DEFAULT_CONFIG
    path = Path(raw)
    return path if path.is_absolute() else project_root() / path


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field (remove it or fix its spelling)"
    more = len(error.errors()) - 1
    return f"{where}: {message}" + (f" (+{more} more)" if more else "")


def load_config(explicit: str | None = None) -> GantryConfig:
    """Load and validate; raises ConfigError with one line naming the file, the field and the fix."""
    path = config_path(explicit)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found: pass --config environments/<customer>/<env>.yaml")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML: fix the syntax") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return GantryConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from None
