"""Where each local component keeps its files under the run directory (one place, so `down` is total)."""

from __future__ import annotations

import os
from pathlib import Path

from gantry.config import GantryConfig
from gantry.paths import project_root, run_dir, run_dir_tag, socket_dir
from gantry.targets.local.settings import LocalSettings

# PostgreSQL refuses to run as root, so under root its clusters run as the `postgres` user, which must be able
# to reach their directories; a run directory may sit under a 0700 home (root's is), so they live here then.
ROOT_DATABASES = Path("/var/lib/gantry")


def database_dir(root: Path) -> Path:
    """Where a run directory's PostgreSQL clusters live (`gantry down` removes it either way)."""
    return ROOT_DATABASES / run_dir_tag(root) if os.geteuid() == 0 else root / "databases"


class Layout:
    def __init__(self, cfg: GantryConfig, settings: LocalSettings | None = None, root: Path | None = None) -> None:
        self.cfg = cfg
        self.settings = settings or LocalSettings.of(cfg)
        self.root = root or run_dir()
        self.cfg_root = project_root()  # where config/health-checks.yaml and the templates of the checkout are

    def region(self, region: str) -> Path:
        return self.root / "regions" / region

    def registry(self, region: str) -> Path:
        return self.region(region) / "registry"

    def source_repo(self, region: str) -> Path:
        return self.region(region) / "source.git"

    def lb(self, region: str, env: str) -> Path:
        return self.region(region) / f"lb-{env}"

    def global_lb(self, env: str) -> Path:
        return self.root / "global" / f"lb-{env}"

    def release_file(self, region: str, env: str) -> Path:
        return self.region(region) / f"release-{env}.json"

    @property
    def sockets(self) -> Path:
        return socket_dir(self.root)

    @property
    def databases(self) -> Path:
        return database_dir(self.root)

    @property
    def leases(self) -> Path:
        return self.root / "leases"

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

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
        return f"127.0.0.1:{self.settings.regions[region].registry_port}"

    def registry_hosts(self) -> dict[str, str]:
        return {self.registry_host(region): self.registry_host(region) for region in self.cfg.regions.names}

    def repository(self) -> str:
        return f"{self.cfg.customer}/{self.cfg.service.name}"

    def lb_port(self, region: str, env: str) -> int:
        return self.settings.regions[region].lb_ports[env]

    def global_port(self, env: str) -> int | None:
        return self.settings.global_ports.get(env)

    def lb_envs(self, region: str) -> list[str]:
        return [env for env in self.cfg.environments if region in self.cfg.regions_of(env)]
