"""Where each local component keeps its files under the run directory (one place, so `down` is total)."""

from __future__ import annotations

from pathlib import Path

from gantry.config import GantryConfig
from gantry.paths import run_dir


class Layout:
    def __init__(self, cfg: GantryConfig, root: Path | None = None) -> None:
        self.cfg = cfg
        self.root = root or run_dir()

    def region(self, region: str) -> Path:
        return self.root / "regions" / region

    def registry(self, region: str) -> Path:
        return self.region(region) / "registry"

    def source_repo(self, region: str) -> Path:
        return self.region(region) / "source.git"

    def lb(self, region: str, env: str) -> Path:
        return self.region(region) / f"lb-{env}"

    def release_file(self, region: str, env: str) -> Path:
        return self.region(region) / f"release-{env}.json"

    @property
    def monitoring(self) -> Path:
        return self.root / "monitoring"

    @property
    def prometheus(self) -> Path:
        return self.monitoring / "prometheus"

    @property
    def alertmanager(self) -> Path:
        return self.monitoring / "alertmanager"

    @property
    def inbox(self) -> Path:
        """Where the webhook receiver writes alerts.jsonl and notifications.jsonl."""
        return self.monitoring / "inbox"

    def targets_file(self, name: str) -> Path:
        return self.prometheus / "targets" / f"{name}.json"

    def registry_host(self, region: str) -> str:
        return f"127.0.0.1:{self.cfg.local_settings.regions[region].registry_port}"

    def registry_hosts(self) -> list[str]:
        return [self.registry_host(region) for region in self.cfg.regions.names]

    def repository(self) -> str:
        return f"{self.cfg.customer}/{self.cfg.service.name}"

    def lb_port(self, region: str, env: str) -> int:
        return self.cfg.local_settings.regions[region].lb_ports[env]

    def lb_envs(self, region: str) -> list[str]:
        return [env for env in self.cfg.environments if region in self.cfg.regions_of(env)]
