"""The contract every target implements. Stage logic (ordering, approvals, cross-region rollback policy,
smoke checks, notifications) lives in gantry.stages and is shared; a target only knows how to move images
and containers/services in one region at a time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gantry.config import GantryConfig
from gantry.records import RecordStore


@dataclass(frozen=True)
class Release:
    """What runs in a region/environment: the commit and the image digest built from it."""

    sha: str
    digest: str  # "sha256:<hex>", the registry manifest digest, identical in every region

    @property
    def short(self) -> str:
        return f"{self.sha[:12]} {self.digest[:19]}"


@dataclass(frozen=True)
class Published:
    """The result of push + replicate: per-region image references, all pinned to one digest."""

    digest: str
    references: dict[str, str]  # region -> "<registry>/<repo>@sha256:..."


class NotificationSink(Protocol):
    name: str

    def send(self, event: dict[str, Any]) -> None:
        """Deliver one event; raise GantryError with a one-line reason when delivery fails."""


class Target(Protocol):
    cfg: GantryConfig

    def records(self) -> RecordStore:
        """Durable store for approvals and staging passes, readable from every region."""

    def find_published(self, tag: str) -> Published | None:
        """The image already published as `tag` (tags are immutable), or None."""

    def publish(self, local_image: str, tag: str) -> Published:
        """Push the locally built image to the primary registry as `tag`, get it into the secondary
        registry, and verify both hold the same digest. Raise GantryError otherwise."""

    def current_release(self, env: str, region: str) -> Release | None:
        """The release serving `env` in `region`, or None before the first deploy."""

    def previous_release(self, env: str, region: str) -> Release | None:
        """The release `env` in `region` served before the current one (what `gantry rollback` restores)."""

    def deploy_region(self, env: str, region: str, release: Release, *, force: bool = False) -> bool:
        """Make `region` serve `release` for `env`. Returns False when it already did (and force is off).
        On failure the region must be left serving what it served before, then raise DeployError."""

    def endpoint(self, env: str, region: str) -> str:
        """Base URL of the load balancer in front of `env` in `region`."""

    def push_source(self, repo: Path) -> None:
        """Push every ref of the local git repository `repo` to the primary region's source copy."""

    def mirror_source(self) -> dict[str, str]:
        """Push every ref of the primary region's source copy to the secondary's and return the refs
        (ref -> sha) after verifying both sides match; raise GantryError when they diverge."""

    def sinks(self) -> list[NotificationSink]:
        """Notification sinks this target adds to the common ones (e.g. SNS on aws)."""
