"""The local target: the Target contract (gantry.targets.base) on this machine."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import requests
from docker import DockerClient
from filelock import FileLock

from gantry import jsonfile, taskdef
from gantry.approvals import Protection
from gantry.config import GantryConfig
from gantry.errors import DeployError, GantryError
from gantry.host import baseimage, engine, images
from gantry.host.git import Commit, archive, commits, git, git_retrying, show
from gantry.names import check_sha
from gantry.records import FileRecordStore, RecordStore
from gantry.targets.base import Alert, Component, Health, Note, NotificationSink, Published, Release, Target
from gantry.targets.local import balancers, monitoring, oneoff, protection, registry, replicas, rollout, stack
from gantry.targets.local.database import Databases, NodeStatus
from gantry.targets.local.failover import LocalFailover
from gantry.targets.local.layout import Layout
from gantry.targets.local.leases import FileLeaseStore
from gantry.targets.local.settings import LocalSettings

BASE_REPOSITORY = "gantry/debian-base"


class LocalTarget:
    def __init__(self, cfg: GantryConfig) -> None:
        self.cfg = cfg
        self.settings = LocalSettings.of(cfg)
        self.layout = Layout(cfg, self.settings)
        self.databases = Databases(self.layout)

    @cached_property
    def client(self) -> DockerClient:
        return engine.connect(self.layout.registry_hosts())

    def _engine(self) -> DockerClient:
        """The engine connection, made again (restarting podman's service) if the engine went away since."""
        try:
            self.client.ping()
        except images.ENGINE_ERRORS:
            self.__dict__.pop("client", None)
        return self.client

    # -- lifecycle ----------------------------------------------------------------------------------------
    def up(self) -> list[Component]:
        """Start what is not running, give restarted load balancers their replicas, start the supervisor."""
        engine.connect(self.layout.registry_hosts())
        stack.up(self.layout)
        self.databases.up()
        protection.ensure_all(self.layout)  # kept from each load balancer's first start
        for env in self.cfg.environments:
            for region in self.cfg.regions_of(env):
                self.region(env, region).reconcile_balancer()
        stack.start_supervisor(self.layout)
        return self.components()

    def down(self, *, wait: bool) -> list[str]:
        return stack.down(self.leases(), wait=wait, before_files=self.databases.down)

    def components(self) -> list[Component]:
        rows = stack.status(self.layout)
        if self.databases.enabled:
            rows += [self._database_row(node) for node in self.databases.status()]
        return rows

    def _database_row(self, node: NodeStatus) -> Component:
        state = {"primary": "running (writer)", "down": "stopped", "fenced": "fenced (DR)"}.get(node.role, "")
        if node.role == "standby":
            lag = f", {node.lag_bytes:.0f} B / {node.lag_seconds:.2f} s behind" if node.lag_bytes is not None else ""
            state = f"running (standby, {'streaming' if node.streaming else 'NOT streaming'}{lag})"
        port = self.databases.cluster(node.region).port
        return Component(f"{node.region} database", f"postgresql://127.0.0.1:{port}", state)

    def act_as(self, identity: str | None, run_id: str | None) -> None:
        """One machine, one user: the local target has no identities to choose between (docs/threat-model.md)."""

    # -- durable state ------------------------------------------------------------------------------------
    def records(self, env: str) -> RecordStore:
        self.cfg.environment(env)  # a name from the configuration, never a path
        return FileRecordStore(self.layout.records / env)

    def leases(self) -> FileLeaseStore:
        return FileLeaseStore(self.layout.leases)

    # -- images -------------------------------------------------------------------------------------------
    def engine_registries(self) -> dict[str, str]:
        return self.layout.registry_hosts()

    def engine_login(self, client: DockerClient) -> None:
        """The local registries take no credentials."""

    def _image(self, region: str) -> str:
        return f"{self.layout.registry_host(region)}/{self.layout.repository()}"

    def base_image(self, note: Note) -> str:
        """The base image pushed to the primary registry, pinned by digest (pushed again only when it changed)."""
        settings = self.settings.base_image
        spec = baseimage.BaseImageSpec(
            name=settings.local_image or f"localhost/{BASE_REPOSITORY}:{settings.suite}",
            suite=settings.suite,
            mirror=settings.mirror,
            upstream=settings.upstream,
            prebuilt=settings.local_image is not None,
        )
        image = baseimage.ensure(self.client, spec, note)
        repository, tag = images.split(spec.name)
        repository = repository.removeprefix("localhost/")
        host = self.layout.registry_host(self.cfg.regions.primary)
        record_path = self.layout.root / "base-image.json"
        recorded: dict[str, Any] = jsonfile.read(record_path) if record_path.is_file() else {}
        digest = registry.manifest_digest(host, repository, tag)
        if recorded.get("image_id") != image.id or digest is None or recorded.get("digest") != digest:
            note(f"pushing {spec.name} to the {self.cfg.regions.primary} registry")
            digest = registry.push(self.client, spec.name, host, repository, tag, self.cfg.regions.primary)
            jsonfile.write_atomic(record_path, {"image_id": image.id, "digest": digest, "local": spec.name})
        return f"{host}/{repository}@{digest}"

    def build_context(self, tree: str, folder: str) -> bytes:
        repo = self.layout.source_repo(self.cfg.regions.primary)
        _require_repo(repo)
        return archive(repo, tree, folder)

    def find_published(self, tag: str) -> Published | None:
        """The tag in every registry with one digest; None otherwise (publish() pushes, completes the
        replication and reports a registry that does not answer)."""
        repo = self.layout.repository()
        primary = registry.manifest_digest(self.layout.registry_host(self.cfg.regions.primary), repo, tag)
        if primary is None:
            return None
        for region in self.cfg.regions.names[1:]:
            try:
                if registry.manifest_digest(self.layout.registry_host(region), repo, tag) != primary:
                    return None
            except GantryError:
                return None
        return Published(primary, {region: f"{self._image(region)}@{primary}" for region in self.cfg.regions.names})

    def tagged(self, tag: str) -> str | None:
        return registry.manifest_digest(
            self.layout.registry_host(self.cfg.regions.primary), self.layout.repository(), tag
        )

    def publish(self, local_image: str, tag: str) -> Published:
        # One publisher per tag at a time, as ECR's immutable tags guarantee: a second run of the same commit
        # waits, then finds the tag published and uses that digest.
        with FileLock(str(self.layout.root / "locks" / f"publish-{tag[:80]}.lock"), timeout=600):
            return self._publish(local_image, tag)

    def _publish(self, local_image: str, tag: str) -> Published:
        primary, secondary = self.cfg.regions.primary, self.cfg.regions.secondary
        repo = self.layout.repository()
        digest = registry.manifest_digest(self.layout.registry_host(primary), repo, tag)
        if digest is None:
            digest = registry.push(self.client, local_image, self.layout.registry_host(primary), repo, tag, primary)
        else:
            # The tag is there (a push whose replication failed, or another run's): it must be this image.
            image = images.find(self.client, local_image)
            held = registry.config_digest(self.layout.registry_host(primary), repo, tag)
            if image is None or held != image.id:
                raise GantryError(
                    f"tag {tag} already holds another image ({digest}) in {primary}; tags are immutable: "
                    "commit the change so it gets a new SHA tag"
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

    def region(self, env: str, region: str) -> rollout.Region:
        self.cfg.check_region(env, region)
        mounts = self.databases.mounts(region) if self.databases.enabled else {}
        balancer = balancers.regional(self.layout, region, env)
        return rollout.Region(self.layout, env, region, self._engine, balancer, mounts)

    def current_release(self, env: str, region: str) -> Release | None:
        record = self.region(env, region).record
        return record.release if record else None

    def previous_release(self, env: str, region: str) -> Release | None:
        record = self.region(env, region).record
        return Release(record.previous.sha, record.previous.digest) if record and record.previous else None

    def task_definition(self, env: str, region: str, release: Release) -> dict[str, Any]:
        self.cfg.check_region(env, region)
        database = self.databases
        repo = self.layout.source_repo(self.cfg.regions.primary)
        _require_repo(repo)
        return taskdef.render(
            self.cfg,
            lambda path: show(repo, release.sha, path),
            image=f"{self._image(region)}@{release.digest}",
            sha=release.sha,
            digest=release.digest,
            env=env,
            region=region,
            database_url=database.replica_conninfo(env, region) if database.enabled else "",
            database_secret=str(database.secret_path(env, region)) if database.enabled else "",
        )

    def deploy_region(
        self, env: str, region: str, release: Release, task_definition: dict[str, Any], *, force: bool = False
    ) -> bool:
        place = self.region(env, region)
        if self.databases.enabled:
            self.databases.secret_file(env, region)  # the password file the task definition names, current
        before = place.record
        if not (before and before.digest == release.digest and not force and place.in_shape(before)):
            self._pull(task_definition["containerDefinitions"][0]["image"], region)
        changed = place.deploy(
            release,
            task_definition,
            self.cfg.replicas(env),
            force=force,
            timeout=self.settings.health_timeout_seconds,
        )
        if changed:
            rollout.wait_serving(self.endpoint(env, region) + self.cfg.service.health.version, release.digest)
        return changed

    def _pull(self, image: str, region: str) -> None:
        """Deploy only what this region's registry holds (the engine may have the digest cached from elsewhere)."""
        digest = image.rsplit("@", 1)[1]
        try:
            held = registry.manifest_digest(self.layout.registry_host(region), self.layout.repository(), digest)
        except GantryError as exc:
            raise DeployError(f"the {region} registry cannot be checked for {digest[:19]}: {exc}") from None
        if held is None:
            raise DeployError(f"{digest[:19]} is not in the {region} registry: run `gantry push` (it replicates)")
        images.pull(
            self._engine(), image, fix=f"run `gantry push` first, and `gantry status` to check the {region} registry"
        )

    def endpoint(self, env: str, region: str) -> str:
        return f"http://127.0.0.1:{self.layout.lb_port(region, env)}"

    def global_endpoint(self, env: str) -> str | None:
        port = self.layout.global_port(env)
        return f"http://127.0.0.1:{port}" if port else None

    # -- approvals ----------------------------------------------------------------------------------------
    def identity(self, env: str, region: str) -> str:
        return protection.identity(self.layout, env, region)

    def protection(self, env: str, region: str) -> Protection | None:
        return protection.of(self.layout, env, region)

    def commits(self, sha: str, since: str | None, signers: str | None, limit: int | None = None) -> list[Commit]:
        repo = self.layout.source_repo(self.cfg.regions.primary)
        _require_repo(repo)
        return commits(repo, sha, since, signers, limit)

    def demo_key(self) -> Path | None:
        return protection.demo_key(self.layout)

    def failover(self) -> LocalFailover:
        return LocalFailover(self)

    def migrate(self, env: str, release: Release, command: list[str], note: Note) -> list[str]:
        """A one-off container of the release's image, pulled from the writer region's registry, with the writer's
        socket directory and the schema owner's password file mounted read-only, no network, nothing else."""
        self.cfg.environment(env)
        region = self.databases.writer_region()
        image = f"{self._image(region)}@{release.digest}"
        self._pull(image, region)
        note(f"running {' '.join(command)[:60]} in {release.digest[:19]} against the {region} database")
        return oneoff.run(
            self._engine(),
            image,
            command,
            labels=replicas.labels_for(str(self.layout.root), self.cfg.customer, region, env),
            environment={"DATABASE_URL": self.databases.owner_conninfo(env)},
            secrets={"DATABASE_PASSWORD": self.databases.owner_secret_file(env)},
            mounts=self.databases.mounts(region),
        )

    def firing_alerts(self) -> list[Alert]:
        return monitoring.firing(f"http://127.0.0.1:{self.settings.prometheus_port}")

    def health(self, env: str, region: str) -> Health:
        """The regional load balancer's view: recorded replicas in service, against the desired count."""
        place = self.region(env, region)
        record = place.record
        desired = self.cfg.replicas(env)
        if record is None:
            return Health(healthy=0, desired=desired, detail="nothing deployed")
        if not place.balancer.running():
            return Health(healthy=0, desired=desired, detail="load balancer not running: run `gantry up`")
        servers = place.balancer.servers()
        up = [s for s in servers if s.up]
        down = [s for s in servers if not s.up]
        detail = f"{len(up)}/{desired} replicas in service" + (
            f", not in service: {', '.join(f'{s.name[-8:]} {s.state}' for s in down)}" if down else ""
        )
        return Health(healthy=len(up), desired=desired, unhealthy=len(down), detail=detail)

    def verify_monitoring(self, env: str, note: Note) -> str:
        note("waiting for Prometheus to scrape every replica")
        want = self.cfg.replicas(env) * len(self.cfg.regions_of(env))
        seen = monitoring.replicas_up(f"http://127.0.0.1:{self.settings.prometheus_port}", env, want)
        return f"Prometheus: {seen} replicas up"

    # -- source -------------------------------------------------------------------------------------------
    def push_source(self, repo: Path, commits: list[str]) -> None:
        primary = self.layout.source_repo(self.cfg.regions.primary)
        _require_repo(primary)
        git_retrying(
            "push",
            "--quiet",
            "--force",
            "--prune",
            str(primary),
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
            # Each built commit keeps a ref of its own (a detached or snapshot commit no branch holds): --prune
            # touches only branches and tags, so a release's commit stays readable for its rollback.
            *(f"{check_sha(sha)}:refs/gantry/builds/{sha}" for sha in dict.fromkeys(commits)),
            cwd=repo,
            fix="run `gantry up` (it creates the region's source copy)",
        )

    def mirror_source(self) -> dict[str, str]:
        primary = self.layout.source_repo(self.cfg.regions.primary)
        secondary = self.layout.source_repo(self.cfg.regions.secondary)
        _require_repo(primary)
        _require_repo(secondary)
        git_retrying("push", "--quiet", "--mirror", str(secondary), cwd=primary, fix="rerun `gantry mirror`")
        source, copy = _all_refs(primary), _all_refs(secondary)
        if source != copy:
            differing = sorted(set(source.items()) ^ set(copy.items()))
            raise GantryError(
                f"source mirror in {self.cfg.regions.secondary} diverges from "
                f"{self.cfg.regions.primary} at {differing[0][0]}: rerun `gantry mirror`"
            )
        return source

    def sinks(self) -> list[NotificationSink]:
        return []


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _require_repo(path: Path) -> None:
    if not (path / "HEAD").is_file():
        raise GantryError(f"no source repository at {path}: run `gantry up`")


def _all_refs(repo: Path) -> dict[str, str]:
    lines = git("for-each-ref", "--format=%(refname) %(objectname)", cwd=repo).splitlines()
    return {ref: sha for ref, sha in (line.split(" ", 1) for line in lines if line)}


def _conforms(target: LocalTarget) -> Target:
    """mypy checks here that LocalTarget implements the whole Target contract."""
    return target
