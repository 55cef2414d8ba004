"""Schema of the `local:` section of an environment file (owned by the local target)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError

from gantry.config import GantryConfig
from gantry.errors import ConfigError
from gantry.names import EnvironmentName
from gantry.schema import Strict, describe

Port = Annotated[int, Field(ge=1024, le=65535)]


class LocalRegionSettings(Strict):
    registry_port: Port
    lb_ports: dict[EnvironmentName, Port]
    # The region's PostgreSQL cluster (needed when the service has a database).
    database_port: Port | None = None


class BaseImageSettings(Strict):
    # An upstream image to pull (e.g. a mirror of debian:bookworm-slim); empty means build from Debian's archive.
    upstream: str | None = None
    # A locally baked image to use instead, e.g. localhost/gantry/golden-base:bookworm from
    # `gantry bake --target container` (the Ansible-hardened golden base).
    local_image: str | None = None
    suite: str = Field(default="bookworm", pattern=r"^[a-z]+$")
    mirror: str | None = None


class LocalSettings(Strict):
    regions: dict[str, LocalRegionSettings]
    # The global entry point of each environment that runs in both regions (the Route 53 failover record).
    global_ports: dict[EnvironmentName, Port] = Field(default_factory=dict)
    prometheus_port: Port
    alertmanager_port: Port
    webhook_port: Port
    base_image: BaseImageSettings = BaseImageSettings()
    health_timeout_seconds: float = Field(default=60, gt=0, le=3600)
    # Health-check durations of config/health-checks.yaml (the AWS numbers) times this: same checks, faster clock.
    time_scale: float = Field(default=0.2, gt=0, le=1)
    scrape_interval_seconds: int = Field(default=2, ge=1, le=300)

    @classmethod
    def of(cls, cfg: GantryConfig) -> LocalSettings:
        """Validate the file's `local:` section against the rest of the file; ConfigError names the field."""
        try:
            settings = cls.model_validate(cfg.section("local"))
        except ValidationError as exc:
            raise ConfigError(f"{cfg.source}: {describe(exc, 'local')}") from None
        problem = settings.problem(cfg)
        if problem:
            raise ConfigError(f"{cfg.source}: {problem}")
        return settings

    def problem(self, cfg: GantryConfig) -> str | None:
        """The first inconsistency with the rest of the file, as `field: what is wrong`."""
        for check in (self._regions, self._global_entries, self._databases, self._ports):
            if found := check(cfg):
                return found
        return None

    def _regions(self, cfg: GantryConfig) -> str | None:
        if set(self.regions) != set(cfg.regions.names):
            return f"local.regions must list exactly {cfg.regions.names}, found {sorted(self.regions)}"
        for name, region in self.regions.items():
            for env_name in cfg.environments:
                if name in cfg.regions_of(env_name) and env_name not in region.lb_ports:
                    return f"local.regions.{name}.lb_ports needs a port for '{env_name}'"
        return None

    def _global_entries(self, cfg: GantryConfig) -> str | None:
        for env_name in self.global_ports:
            if env_name not in cfg.environments or len(cfg.regions_of(env_name)) != 2:
                return f"local.global_ports.{env_name}: a global entry needs an environment in both regions"
        return None

    def _databases(self, cfg: GantryConfig) -> str | None:
        if cfg.service.database is not None:
            for name, region in self.regions.items():
                if region.database_port is None:
                    return f"local.regions.{name}.database_port is needed: the service has a database"
        return None

    def _ports(self, cfg: GantryConfig) -> str | None:
        ports = [self.prometheus_port, self.alertmanager_port, self.webhook_port, *self.global_ports.values()]
        for region in self.regions.values():
            ports += [region.registry_port, *region.lb_ports.values()]
            ports += [region.database_port] if region.database_port else []
        duplicates = sorted({p for p in ports if ports.count(p) > 1})
        return f"local: ports used twice: {duplicates}" if duplicates else None
