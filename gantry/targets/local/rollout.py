"""One environment in one region of the local target: what runs there (a typed record on disk), the rollout
that changes it behind the region's load balancer, and the repairs that keep it as recorded.

A rollout starts the new replicas, lets the load balancer take them in once its health checks pass (as an
ALB does), then drains and removes the old ones: no reload and no dropped request. Any failure before the
old replicas left puts the region back as it was. Repairs are what the ECS service scheduler does: a replica
that exited or fails its checks is replaced; a load balancer that lost its replicas gets them back.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from docker import DockerClient
from docker.models.containers import Container
from pydantic import BaseModel, ConfigDict

from gantry import jsonfile, taskdef
from gantry.errors import DeployError, GantryError
from gantry.host import images
from gantry.runrecord import ReleaseRef
from gantry.targets.base import Release
from gantry.targets.local import monitoring, replicas
from gantry.targets.local.haproxy import Balancer
from gantry.targets.local.layout import Layout


class Replica(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str  # the container's name, also its server name in the load balancer
    id: str
    port: int


class RegionRecord(BaseModel):
    """What an environment runs in a region (regions/<region>/release-<env>.json)."""

    model_config = ConfigDict(extra="forbid")
    sha: str
    digest: str
    desired: int
    task_definition: dict[str, Any]
    replicas: list[Replica]
    deployed_at: datetime
    previous: ReleaseRef | None = None

    @property
    def release(self) -> Release:
        return Release(self.sha, self.digest)

    def spec(self) -> taskdef.ContainerSpec:
        return taskdef.container_spec(self.task_definition)


def load(path: Path) -> RegionRecord | None:
    return jsonfile.load(path, RegionRecord) if path.is_file() else None


def save(path: Path, record: RegionRecord) -> None:
    jsonfile.write_atomic(path, record.model_dump(mode="json"))


class Region:
    """One environment in one region: its record, its replicas and its load balancer."""

    def __init__(
        self,
        layout: Layout,
        env: str,
        region: str,
        client: Callable[[], DockerClient],
        balancer: Balancer,
        mounts: dict[str, str] | None = None,
    ) -> None:
        self.layout = layout
        self.mounts = mounts or {}  # read-only host paths every replica gets (the region's database socket)
        self.env = env
        self.region = region
        self.client = client  # a fresh, checked engine connection each call (the engine may restart)
        self.balancer = balancer
        self.path = layout.release_file(region, env)
        self.labels = replicas.labels_for(str(layout.root), layout.cfg.customer, region, env)
        self.version_path = layout.cfg.service.health.version

    @property
    def record(self) -> RegionRecord | None:
        return load(self.path)

    def containers(self) -> list[Container]:
        return replicas.running(self.client(), self.labels)

    # -- state --------------------------------------------------------------------------------------------
    def healthy(self, record: RegionRecord | None = None) -> list[str]:
        """The recorded replicas the load balancer has UP."""
        record = record or self.record
        if record is None or not self.balancer.running():
            return []
        up = {s.name for s in self.balancer.servers() if s.up}
        return [r.name for r in record.replicas if r.name in up]

    def in_shape(self, record: RegionRecord) -> bool:
        """The region runs what its record says: every recorded replica running and in service, nothing else."""
        running = {c.id for c in self.containers() if c.status == "running"}
        recorded = {r.id for r in record.replicas}
        return (
            recorded <= running
            and len(record.replicas) == record.desired
            and len(self.healthy(record)) == record.desired
        )

    # -- rollout ------------------------------------------------------------------------------------------
    def deploy(
        self, release: Release, task_definition: dict[str, Any], desired: int, *, force: bool, timeout: float
    ) -> bool:
        """Make the region serve `release`; False when it already does and is in shape (and force is off)."""
        before = self.record
        same = before is not None and before.digest == release.digest and before.desired == desired
        if same and not force and before is not None and self.in_shape(before):
            return False
        spec = taskdef.container_spec(task_definition)
        serving = before.digest[:19] if before else "nothing (first deploy)"
        old = [s.name for s in self.balancer.servers()] if self.balancer.running() else []
        drained: list[str] = []
        added: list[str] = []
        if not self.balancer.running():
            raise DeployError(f"the {self.env} load balancer in {self.region} is not running: run `gantry up`")
        try:
            started = replicas.start(self.client(), spec, self.labels, release, desired, self.mounts)
            replicas.wait_healthy(started, spec, release, self.version_path, timeout)
            fresh = [Replica(name=c.name, id=c.id, port=replicas.host_port(c, spec.container_port)) for c in started]
            for replica in fresh:
                self.balancer.add(replica.name, replica.port)
                added.append(replica.name)
            self.balancer.wait_up(added, timeout)
            drained = old
            self.balancer.drain(drained)
            for name in drained:
                self.balancer.remove(name)
        except BaseException as exc:
            self._restore(added, drained, before)
            if isinstance(exc, GantryError):
                raise DeployError(
                    f"{self.env} in {self.region}: {exc}; rolled back, the region still serves {serving}"
                ) from None
            if isinstance(exc, images.ENGINE_ERRORS):
                raise DeployError(
                    f"{self.env} in {self.region}: the container engine failed ({images.short(exc)}); rolled back, "
                    f"the region still serves {serving}: check `gantry status`"
                ) from None
            raise
        if before is None:
            previous = None
        elif before.digest == release.digest:  # a redeploy (force, repair) keeps what came before
            previous = before.previous
        else:
            previous = ReleaseRef(sha=before.sha, digest=before.digest)
        record = RegionRecord(
            sha=release.sha,
            digest=release.digest,
            desired=desired,
            task_definition=task_definition,
            replicas=fresh,
            deployed_at=datetime.now(UTC),
            previous=previous,
        )
        save(self.path, record)
        self._publish_targets(record)
        self._remove_others(record)
        return True

    def _restore(self, added: list[str], drained: list[str], before: RegionRecord | None) -> None:
        """Back to how the region was: old servers in service, new ones out, every unrecorded replica gone.
        Runs while an error or an interrupt propagates, so it reconnects to the engine if it has to."""
        with contextlib.suppress(Exception):
            self.balancer.ready([n for n in drained if n in {s.name for s in self.balancer.servers()}])
        for name in added:
            with contextlib.suppress(Exception):
                self.balancer.remove(name)
        if before is not None:
            with contextlib.suppress(Exception):  # a server removed before the failure comes back
                present = {s.name for s in self.balancer.servers()}
                for replica in before.replicas:
                    if replica.name not in present:
                        self.balancer.add(replica.name, replica.port)
        keep = {r.id for r in before.replicas} if before else set()
        with contextlib.suppress(Exception):  # best effort: the next deploy or repair removes what is left
            replicas.remove([c for c in self.containers() if c.id not in keep])

    def _remove_others(self, record: RegionRecord) -> None:
        """Every replica of this environment that the record does not name goes (an interrupted deploy's too)."""
        keep = {r.id for r in record.replicas}
        replicas.stop_gracefully([c for c in self.containers() if c.id not in keep])

    def _publish_targets(self, record: RegionRecord) -> None:
        monitoring.write_targets(
            self.layout,
            f"replicas-{self.region}-{self.env}",
            [f"127.0.0.1:{r.port}" for r in record.replicas],
            {"region": self.region, "env": self.env, "sha": record.sha[:12]},
        )

    # -- repairs ------------------------------------------------------------------------------------------
    def reconcile_balancer(self) -> list[str]:
        """A (re)started load balancer gets the recorded replicas back, and nothing else; returns the changes."""
        record = self.record
        if record is None or not self.balancer.running():
            return []
        registered = {s.name: s for s in self.balancer.servers()}
        wanted = {r.name: r for r in record.replicas}
        changes = []
        for name, replica in wanted.items():
            if name not in registered:
                self.balancer.add(name, replica.port)
                changes.append(f"registered {name}")
        for name in registered.keys() - wanted.keys():
            self.balancer.remove(name)
            changes.append(f"deregistered {name}")
        return changes

    def failed(self, record: RegionRecord, grace: float) -> list[Replica]:
        """Recorded replicas whose container is gone or stopped, or that the load balancer holds DOWN."""
        running = {c.id for c in self.containers() if c.status == "running"}
        states = {s.name: s for s in self.balancer.servers()} if self.balancer.running() else {}
        age = (datetime.now(UTC) - record.deployed_at).total_seconds()
        found = []
        for replica in record.replicas:
            server = states.get(replica.name)
            checks_failed = server is not None and server.state.startswith("DOWN") and age > grace
            if replica.id not in running or checks_failed:
                found.append(replica)
        return found

    def replace(self, record: RegionRecord, dead: list[Replica], timeout: float) -> RegionRecord:
        """New replicas for `dead` from the recorded task definition, in service before the dead ones leave."""
        spec = record.spec()
        started = replicas.start(self.client(), spec, self.labels, record.release, len(dead), self.mounts)
        try:
            replicas.wait_healthy(started, spec, record.release, self.version_path, timeout)
            fresh = [Replica(name=c.name, id=c.id, port=replicas.host_port(c, spec.container_port)) for c in started]
            for replica in fresh:
                self.balancer.add(replica.name, replica.port)
            self.balancer.wait_up([r.name for r in fresh], timeout)
        except BaseException:
            replicas.remove(started)
            raise
        gone = {r.name for r in dead}
        for name in gone & {s.name for s in self.balancer.servers()}:
            self.balancer.remove(name)
        updated = record.model_copy(update={"replicas": [r for r in record.replicas if r.name not in gone] + fresh})
        save(self.path, updated)
        self._publish_targets(updated)
        self._remove_others(updated)
        return updated


def wait_serving(url: str, digest: str, timeout: float = 20) -> None:
    """The load balancer's version `url` answers with `digest` on consecutive requests."""
    streak, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            streak = streak + 1 if requests.get(url, timeout=2).json().get("digest") == digest else 0
        except (requests.RequestException, ValueError):
            streak = 0
        if streak >= 4:
            return
        time.sleep(0.1)
    raise DeployError(f"{url} did not switch to {digest[:19]}")
