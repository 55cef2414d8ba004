"""The local target: the Target contract (gantry.targets.base) on this machine."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import requests
from docker import DockerClient
from docker.errors import DockerException
from filelock import FileLock, Timeout

from gantry import engine, jsonfile, taskdef
from gantry.config import GantryConfig
from gantry.errors import DeployError, EngineError, GantryError
from gantry.local import monitoring, nginx, registry, replicas
from gantry.local.layout import Layout
from gantry.records import FileRecordStore, RecordStore
from gantry.targets.base import NotificationSink, Published, Release


class LocalTarget:
    def __init__(self, cfg: GantryConfig) -> None:
        self.cfg = cfg
        self.layout = Layout(cfg)

    @cached_property
    def client(self) -> DockerClient:
        return engine.connect(self.layout.registry_hosts())

    def records(self) -> RecordStore:
        return FileRecordStore(self.layout.root / "records")

    # -- images -------------------------------------------------------------------------------------------

    def _image(self, region: str) -> str:
        return f"{self.layout.registry_host(region)}/{self.layout.repository()}"

    def find_published(self, tag: str) -> Published | None:
        repo = self.layout.repository()
        digests = {
            region: registry.manifest_digest(self.layout.registry_host(region), repo, tag)
            for region in self.cfg.regions.names
        }
        primary = digests[self.cfg.regions.primary]
        if primary is None:
            return None
        if any(digest != primary for digest in digests.values()):
            return None  # not (fully) replicated yet: publish() completes and verifies it
        return Published(primary, {region: f"{self._image(region)}@{primary}" for region in digests})

    def publish(self, local_image: str, tag: str) -> Published:
        primary, secondary = self.cfg.regions.primary, self.cfg.regions.secondary
        repo = self.layout.repository()
        digest = registry.manifest_digest(self.layout.registry_host(primary), repo, tag)
        if digest is None:
            digest = self._push(local_image, primary, tag)
        else:
            local_digest = self._local_digest(local_image, primary)
            if local_digest is not None and local_digest != digest:
                raise GantryError(
                    f"tag {tag} already holds {digest} in {primary}; tags are immutable: commit the change "
                    "so it gets a new SHA tag"
                )
        target_digest = registry.manifest_digest(self.layout.registry_host(secondary), repo, tag)
        if target_digest not in (None, digest):
            raise GantryError(
                f"tag {tag} in {secondary} holds {target_digest}, not {digest}: "
                "delete that repository's data dir or use a new SHA"
            )
        if target_digest is None:
            registry.copy(
                f"{self._image(primary)}@{digest}",
                f"{self._image(secondary)}:{tag}",
                engine.engine_environment(self.layout.registry_hosts()),
            )
        copied = registry.manifest_digest(self.layout.registry_host(secondary), repo, tag)
        if copied != digest:
            raise GantryError(f"{secondary} holds {copied} for {tag} after replication, expected {digest}")
        return Published(digest, {region: f"{self._image(region)}@{digest}" for region in (primary, secondary)})

    def _local_digest(self, local_image: str, region: str) -> str | None:
        try:
            image = self.client.images.get(local_image)
        except DockerException:
            return None
        for ref in image.attrs.get("RepoDigests") or []:
            if ref.startswith(self._image(region) + "@"):
                return str(ref.split("@", 1)[1])
        return None

    def _push(self, local_image: str, region: str, tag: str) -> str:
        remote = self._image(region)
        try:
            self.client.images.get(local_image).tag(remote, tag)
            for line in self.client.images.push(remote, tag=tag, stream=True, decode=True):
                if "error" in line:
                    raise EngineError(
                        f"push to the {region} registry failed: {line['error']}: check `gantry status` and retry"
                    )
        except DockerException as exc:
            raise EngineError(
                f"push to the {region} registry failed: {str(exc).splitlines()[0][:200]}: "
                "check `gantry status` and retry"
            ) from None
        digest = registry.manifest_digest(self.layout.registry_host(region), self.layout.repository(), tag)
        if digest is None:
            raise EngineError(f"the {region} registry does not list {tag} after the push: retry `gantry push`")
        return digest

    # -- deployments --------------------------------------------------------------------------------------

    def _record(self, env: str, region: str) -> dict[str, Any] | None:
        path = self.layout.release_file(region, env)
        return jsonfile.read(path) if path.is_file() else None

    def current_release(self, env: str, region: str) -> Release | None:
        record = self._record(env, region)
        return Release(record["sha"], record["digest"]) if record else None

    def previous_release(self, env: str, region: str) -> Release | None:
        record = self._record(env, region)
        previous = record.get("previous") if record else None
        return Release(previous["sha"], previous["digest"]) if previous else None

    def _labels(self, env: str, region: str) -> dict[str, str]:
        return replicas.labels_for(str(self.layout.root), self.cfg.customer, region, env)

    def deploy_region(self, env: str, region: str, release: Release, *, force: bool = False) -> bool:
        self.cfg.check_region(env, region)
        lock = FileLock(str(self.layout.region(region) / f"deploy-{env}.lock"), timeout=0)
        try:
            with lock:
                return self._deploy_locked(env, region, release, force)
        except Timeout:
            raise DeployError(f"another deploy of {env} in {region} is running: wait for it to finish") from None

    def _deploy_locked(self, env: str, region: str, release: Release, force: bool) -> bool:
        wanted = self.cfg.environment(env).replicas
        record = self._record(env, region)
        live = [c for c in replicas.running(self.client, self._labels(env, region)) if c.status == "running"]
        if record and record["digest"] == release.digest and not force and len(live) == wanted:
            return False
        old = replicas.running(self.client, self._labels(env, region))
        spec = taskdef.container_spec(
            taskdef.render(
                self.cfg,
                image=f"{self._image(region)}@{release.digest}",
                sha=release.sha,
                digest=release.digest,
                env=env,
                region=region,
            )
        )
        self._pull(spec.image, region)
        new = replicas.start(self.client, spec, self._labels(env, region), release, wanted)
        serving = f"{record['digest'][:19]}" if record else "nothing (first deploy)"
        try:
            replicas.wait_healthy(new, spec, release, self.cfg.local_settings.health_timeout_seconds)
            ports = [replicas.host_port(c, spec.container_port) for c in new]
            nginx.switch(self.layout, region, env, ports)
            try:
                self._wait_lb(env, region, release)
            except GantryError:
                nginx.switch(self.layout, region, env, record["ports"] if record else [])
                raise
        except GantryError as exc:
            replicas.remove(new)
            raise DeployError(f"{env} in {region}: {exc}; rolled back, the region still serves {serving}") from None
        monitoring.write_targets(
            self.layout,
            f"replicas-{region}-{env}",
            [f"127.0.0.1:{p}" for p in ports],
            {"region": region, "env": env, "sha": release.sha[:12]},
        )
        jsonfile.write_atomic(
            self.layout.release_file(region, env),
            {
                "sha": release.sha,
                "digest": release.digest,
                "image": spec.image,
                "ports": ports,
                "containers": [c.id for c in new],
                "deployed_at": datetime.now(UTC).isoformat(),
                "previous": {"sha": record["sha"], "digest": record["digest"]}
                if record and record["digest"] != release.digest
                else (record or {}).get("previous"),
            },
        )
        time.sleep(self.cfg.local_settings.drain_seconds)  # in-flight requests finish on the old replicas
        replicas.stop_gracefully([c for c in old if c.id not in {n.id for n in new}])
        return True

    def _pull(self, image: str, region: str) -> None:
        """Deploy only what this region's registry holds (the engine may have the digest cached from elsewhere)."""
        digest = image.rsplit("@", 1)[1]
        try:
            held = registry.manifest_digest(self.layout.registry_host(region), self.layout.repository(), digest)
        except GantryError as exc:
            raise DeployError(f"the {region} registry cannot be checked for {digest[:19]}: {exc}") from None
        if held is None:
            raise DeployError(f"{digest[:19]} is not in the {region} registry: run `gantry push` (it replicates)")
        try:
            self.client.images.pull(image)
        except DockerException as exc:
            raise DeployError(
                f"cannot pull {image} from the {region} registry ({str(exc).splitlines()[0][:160]}): "
                "run `gantry push` first, and `gantry status` to check the registry"
            ) from None

    def _wait_lb(self, env: str, region: str, release: Release, timeout: float = 20) -> None:
        """The load balancer answers with the new digest on consecutive requests (old workers drained)."""
        url = f"{self.endpoint(env, region)}/version"
        streak, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                streak = streak + 1 if requests.get(url, timeout=2).json().get("digest") == release.digest else 0
            except (requests.RequestException, ValueError):
                streak = 0
            if streak >= 4:
                return
            time.sleep(0.1)
        raise DeployError(f"the {env} load balancer in {region} did not switch to {release.digest[:19]}")

    def endpoint(self, env: str, region: str) -> str:
        return f"http://127.0.0.1:{self.layout.lb_port(region, env)}"

    # -- source -------------------------------------------------------------------------------------------

    def push_source(self, repo: Path) -> None:
        primary = self.layout.source_repo(self.cfg.regions.primary)
        _require_repo(primary)
        _git(
            repo,
            "push",
            "--quiet",
            "--force",
            "--prune",
            str(primary),
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
            "+HEAD:refs/gantry/head",
        )

    def mirror_source(self) -> dict[str, str]:
        primary = self.layout.source_repo(self.cfg.regions.primary)
        secondary = self.layout.source_repo(self.cfg.regions.secondary)
        _require_repo(primary)
        _require_repo(secondary)
        _git(primary, "push", "--quiet", "--mirror", str(secondary))
        source, copy = _refs(primary), _refs(secondary)
        if source != copy:
            differing = sorted(set(source.items()) ^ set(copy.items()))
            raise GantryError(
                f"source mirror in {self.cfg.regions.secondary} diverges from "
                f"{self.cfg.regions.primary} at {differing[0][0]}: rerun `gantry mirror`"
            )
        return source

    def source_repo(self, region: str) -> Path:
        return self.layout.source_repo(region)

    def sinks(self) -> list[NotificationSink]:
        return []


def _require_repo(path: Path) -> None:
    if not (path / "HEAD").is_file():
        raise GantryError(f"no source repository at {path}: run `gantry up`")


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise GantryError(f"git {args[0]} failed in {repo}: {(result.stderr.strip().splitlines() or [''])[-1]}")
    return result.stdout


def _refs(repo: Path) -> dict[str, str]:
    lines = _git(repo, "for-each-ref", "--format=%(refname) %(objectname)").splitlines()
    pairs = (line.split(" ", 1) for line in lines if line)
    return {ref: sha for ref, sha in pairs}
