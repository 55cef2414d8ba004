"""The contract every target implements: everything that differs between running on this machine and on AWS.

Stage logic (ordering, approvals, the cross-region rollback policy, smoke checks, notifications, the run
record) lives in gantry.stages and is shared. A target knows how to make the base image, archive the build
context from its source copy, move images, run one environment in one region, lock an environment, keep
durable records and report health. No stage asks which target it drives: adding a target is one package that
implements Target (every role protocol below) and registers itself as a `gantry.targets` entry point. Each
stage names only the roles it calls (a deploy: the gate's reads, the lease, rendering and rolling out), so a
test's stand-in for one stage implements those and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from docker import DockerClient

from gantry.approvals import Protection
from gantry.config import GantryConfig
from gantry.host.git import Commit
from gantry.leases import LeaseStore
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


@dataclass(frozen=True)
class Component:
    """One piece of a target's infrastructure, for `gantry up` and `gantry status`."""

    name: str
    address: str
    state: str


@dataclass(frozen=True)
class Alert:
    """An alert firing now (a Prometheus alert locally, a CloudWatch alarm in ALARM on aws)."""

    name: str
    severity: str
    summary: str
    since: str  # ISO 8601


@dataclass(frozen=True)
class Health:
    """What the load balancer in front of an environment in a region sees."""

    healthy: int
    desired: int
    unhealthy: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.healthy >= self.desired and self.unhealthy == 0


class NotificationSink(Protocol):
    name: str

    def send(self, event: dict[str, Any]) -> None:
        """Deliver one event; raise GantryError with a one-line reason when delivery fails."""


# A progress callback: stages pass Step.note so a target can say what it is doing.
Note = Callable[[str], None]


class RegionFailover(Protocol):
    """What a disaster-recovery drill asks of a target: fail a region, move the database's writer and the
    traffic to the other one, bring the failed region back as the standby. The drill itself (load through the
    global entry, RTO and RPO as clients see them, the evidence) is gantry.stages.drill, shared."""

    def writer(self) -> str:
        """The region whose database takes writes now."""

    def preflight(self, env: str) -> list[str]:
        """What makes a drill of `env` unsafe now (a standby that does not stream, a fenced node, nothing
        deployed); empty when it may start."""

    def replication(self) -> dict[str, Any]:
        """Replication figures now (the standby's lag in bytes and seconds), for the evidence."""

    def fail(self, env: str, region: str, *, planned: bool, note: Note) -> dict[str, Any]:
        """planned: a switchover that loses nothing (`region`'s database hands over and follows). Unplanned:
        `region` is lost at once (its load balancer and database primary killed, the database fenced so it can
        never come back as a second writer) and the other region's database is promoted. Returns the timings
        of each step."""

    def rejoin(self, env: str, region: str, note: Note) -> dict[str, Any]:
        """Bring `region` back after fail(): its database rewound (pg_rewind or the managed equivalent) to
        follow the new writer, its load balancer serving. Returns the timings of each step."""

    def simulated(self) -> list[str]:
        """What this target's drill does not exercise for real (empty when everything is real)."""


# -- the roles a caller needs: each stage names only the ones it calls, so a test's stand-in implements those --


class Lifecycle(Protocol):
    def up(self) -> list[Component]:
        """Start (locally) or check (aws) what the stages need; idempotent."""

    def down(self, *, wait: bool) -> list[str]:
        """Remove what `up` made, first waiting for (wait=True) or cancelling running deploys."""

    def components(self) -> list[Component]:
        """The state of every component, for `gantry status`."""


class Acting(Protocol):
    def act_as(self, identity: str | None, run_id: str | None) -> None:
        """Run the calls that follow as `identity`: "build" (source, images, notifications), an environment's
        name (its deploys, records, lease, database), or None (the caller's own credentials: an approver's).
        On aws each is its own IAM role; the local target has one user and does nothing here."""


class Records(Protocol):
    def records(self, env: str) -> RecordStore:
        """`env`'s durable create-only records (approvals, staging passes, releases), readable from every region
        and written only by `env`'s own identity."""


class Leasing(Protocol):
    def leases(self) -> LeaseStore:
        """Per-environment deploy leases and the intent journal of the deploy that holds one."""


class Building(Protocol):
    def engine_registries(self) -> dict[str, str]:
        """Plain-HTTP registries on 127.0.0.1 the engine must trust: registry name -> where it listens."""

    def engine_login(self, client: DockerClient) -> None:
        """Give the engine what it needs to pull the base image (a registry token), if anything."""

    def base_image(self, note: Note) -> str:
        """The golden base image the build starts FROM, as a reference pinned by digest."""

    def build_context(self, tree: str, folder: str) -> bytes:
        """A tar of `folder` (relative to the repository) at commit `tree`, rooted at that folder, taken from the
        primary region's source copy."""


class Publishing(Protocol):
    def find_published(self, tag: str) -> Published | None:
        """The image already published as `tag` in every region (tags are immutable), or None."""

    def publish(self, local_image: str, tag: str) -> Published:
        """Push the locally built image to the primary registry as `tag`, get it into the secondary
        registry, and verify both hold the same digest. Raise GantryError otherwise."""


class ImageTags(Protocol):
    def tagged(self, tag: str) -> str | None:
        """The digest the primary registry's `tag` names (tags are immutable: what the commit was built as),
        or None when it has no such tag."""


class Serving(Protocol):
    def current_release(self, env: str, region: str) -> Release | None:
        """The release serving `env` in `region`, or None before the first deploy."""

    def identity(self, env: str, region: str) -> str:
        """Which target `env` in `region` is, for approvals and release history: on AWS the account, region,
        cluster and service; locally the region and the load balancer (with the id of that instance of it)."""


class ReleaseHistory(Protocol):
    def previous_release(self, env: str, region: str) -> Release | None:
        """The release `env` in `region` served before the current one (what `gantry rollback` restores)."""


class Deploying(Protocol):
    def task_definition(self, env: str, region: str, release: Release) -> dict[str, Any]:
        """`release`'s task definition for `env` in `region`, rendered from the template as committed in
        `release.sha` (read from the primary region's source copy, never from the working tree)."""

    def deploy_region(
        self, env: str, region: str, release: Release, task_definition: dict[str, Any], *, force: bool = False
    ) -> bool:
        """Make `region` serve `release` for `env` with exactly `task_definition` (the stage rendered and checked
        it). Returns False when it already did (and force is off). On any failure the region must be left
        serving what it served before, then the error is raised."""


class Endpoints(Protocol):
    def endpoint(self, env: str, region: str) -> str:
        """Base URL of the load balancer in front of `env` in `region`."""

    def global_endpoint(self, env: str) -> str | None:
        """The one address in front of both regions of `env` (the failover record), if it has one."""


class Gatekeeping(Protocol):
    def protection(self, env: str, region: str) -> Protection | None:
        """The approval policy the target itself carries (None: not protected). Whatever an environment file
        says, a deploy to a protected target needs a signed approval that satisfies this."""

    def commits(self, sha: str, since: str | None, signers: str | None, limit: int | None = None) -> list[Commit]:
        """The commits of `since..sha` in the primary region's source copy (separation of duties), their
        signatures verified against `signers` when given; GantryError when the copy lacks them."""


class DemoSigner(Protocol):
    def demo_key(self) -> Path | None:
        """The demo approver's signing key (local target with approvals.demo_signer), else None."""


class Migrating(Protocol):
    def migrate(self, env: str, release: Release, command: list[str], note: Note) -> list[str]:
        """Run `command` once in a container of `release`'s image (the one-off task: podman locally, ECS RunTask
        on aws) against `env`'s database on the region that takes writes, with the schema owner's credentials
        and nothing else; returns its output lines. GantryError naming the exit status when it fails."""


class Monitoring(Protocol):
    def health(self, env: str, region: str) -> Health:
        """Healthy load balancer targets for `env` in `region` (the ALB's or HAProxy's view)."""

    def firing_alerts(self) -> list[Alert]:
        """Every alert firing now, for `gantry status`."""

    def verify_monitoring(self, env: str, note: Note) -> str:
        """Check the monitoring sees every replica of `env`; returns a one-line detail."""


class DisasterRecovery(Protocol):
    def failover(self) -> RegionFailover:
        """The target's side of `gantry dr drill`."""


class SourceHosting(Protocol):
    def push_source(self, repo: Path, commits: list[str]) -> None:
        """Push every branch and tag of the local git repository `repo` to the primary region's source copy, and
        each of `commits` (the run's commit, a snapshot of uncommitted changes) under a ref of its own, so a
        detached checkout's commit reaches the copy the build reads."""

    def mirror_source(self) -> dict[str, str]:
        """Push every ref of the primary region's source copy to the secondary's and return the refs
        (ref -> sha) after verifying both sides match; raise GantryError when they diverge."""


class Notifying(Protocol):
    def sinks(self) -> list[NotificationSink]:
        """Notification sinks this target adds to the common ones (e.g. SNS on aws)."""


class Target(
    Lifecycle,
    Acting,
    Records,
    Leasing,
    Building,
    Publishing,
    ImageTags,
    Serving,
    ReleaseHistory,
    Deploying,
    Endpoints,
    Gatekeeping,
    DemoSigner,
    Migrating,
    Monitoring,
    DisasterRecovery,
    SourceHosting,
    Notifying,
    Protocol,
):
    """A whole target, every role: what a target package implements and the pipeline, which drives every
    stage, holds."""

    cfg: GantryConfig
