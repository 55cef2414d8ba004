"""Each stage as one call (what the CLI commands and the Jenkinsfile run), and the whole pipeline in order.

State between stages travels in the JSON run record (gantry.runrecord), so a stage runs the same alone,
from Jenkins, or inside `gantry pipeline run`.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import Any

from gantry import engine, runrecord
from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.paths import project_root
from gantry.stages import approval, baseimage, build, deploy, notify, smoke, source, verify
from gantry.stages.progress import stage
from gantry.targets.base import Published, Release, Target
from gantry.targets.factory import make_target


class Pipeline:
    def __init__(self, cfg: GantryConfig, config_file: str) -> None:
        self.cfg = cfg
        self.config_file = config_file

    @cached_property
    def target(self) -> Target:
        return make_target(self.cfg)

    def _registry_hosts(self) -> list[str]:
        if self.cfg.local is None:
            return []
        return [f"127.0.0.1:{r.registry_port}" for r in self.cfg.local.regions.values()]

    def region(self, env: str, name: str | None) -> list[str] | None:
        """--region accepts a role (primary/secondary) or a region name; None means every region of env."""
        if name is None:
            return None
        if name == "primary":
            resolved = self.cfg.regions.primary
        elif name == "secondary":
            resolved = self.cfg.regions.secondary
        else:
            resolved = name
        return [self.cfg.check_region(env, resolved)]

    # -- stages -------------------------------------------------------------------------------------------

    def source(self, allow_dirty: bool) -> source.Source:
        runrecord.start(self.cfg.customer, self.cfg.service.name, self.config_file)
        with stage("source") as step:
            found = source.run(self.target, allow_dirty)
            step.detail = f"{found.tag[:24]}{' (dirty tree)' if found.dirty else ''}"
        return found

    def mirror(self) -> dict[str, str]:
        with stage("mirror source") as step:
            refs = self.target.mirror_source()
            step.detail = f"{len(refs)} refs identical in {' and '.join(self.cfg.regions.names)}"
        return refs

    def base_image(self, local_only: bool = False) -> str:
        with stage("base image") as step:
            client = engine.connect(self._registry_hosts())
            name = baseimage.ensure_local(self.cfg, client, step)
            if local_only:
                step.detail = name
                return name
            if self.cfg.target != "local":
                raise GantryError(
                    "gantry base-image publishes to the local primary registry; on aws the golden "
                    "base comes from `gantry bake --target container`"
                )
            host = f"127.0.0.1:{self.cfg.local_settings.regions[self.cfg.regions.primary].registry_port}"
            reference = baseimage.publish(self.cfg, client, name, host)
            step.detail = reference.split("@")[1][:19]
            return reference

    def build(self, skip_tests: bool = False) -> None:
        found = source.current()
        with stage("build") as step:
            if published := self.target.find_published(found.tag):
                step.detail = f"{found.tag[:12]} already published as {published.digest[:19]}: nothing to build"
                runrecord.set_fields(digest=published.digest, references=published.references, built=False)
                return
            if not skip_tests:
                build.unit_tests(self.cfg, step)
            client = engine.connect(self._registry_hosts())
            repo_of = getattr(self.target, "source_repo", None)
            repo = repo_of(self.cfg.regions.primary) if repo_of else project_root()
            image = build.build(self.cfg, client, repo, found, baseimage.pinned_reference(), step)
            runrecord.set_fields(local_image=image, built=True)
            step.detail = image

    def push(self) -> Published:
        record = runrecord.load()
        with stage("push and replicate") as step:
            published = self.target.find_published(record["tag"]) if "tag" in record else None
            if published is None:
                if "local_image" not in record:
                    raise GantryError("nothing built in this run: run `gantry build` first")
                published = self.target.publish(record["local_image"], record["tag"])
            runrecord.set_fields(digest=published.digest, references=published.references)
            step.detail = f"{published.digest[:19]} identical in {', '.join(published.references)}"
        return published

    def release(self) -> Release:
        record = runrecord.load()
        if not record.get("digest"):
            raise GantryError("this run has no published image: run `gantry push` first")
        return Release(record["sha"], record["digest"])

    def deploy(self, env: str, region: str | None = None, force: bool = False) -> None:
        release = self.release()
        regions = self.region(env, region)
        label = f"deploy {env}" + (f" ({regions[0]})" if regions else "")
        with stage(label) as step:
            outcomes = deploy.deploy_environment(
                self.target, self.cfg, env, release, force=force, regions=regions, step=step
            )
            step.detail = ", ".join(f"{o.region} {'updated' if o.changed else 'unchanged'}" for o in outcomes)
            with runrecord.update() as record:
                record.setdefault("deployments", {}).update(
                    {
                        f"{env}/{o.region}": {
                            "digest": release.digest,
                            "changed": o.changed,
                            "previous": o.previous.digest if o.previous else None,
                        }
                        for o in outcomes
                    }
                )

    def smoke(self, env: str, region: str | None = None) -> list[smoke.Check]:
        release = self.release()
        regions = self.region(env, region) or self.cfg.regions_of(env)
        with stage(f"smoke {env}") as step:
            checks = smoke.run({r: self.target.endpoint(env, r) for r in regions}, release)
            step.detail = f"{len(checks)} checks passed"
            if check_targets := getattr(self.target, "check_targets", None):  # aws: ALB target health
                healthy = sum(check_targets(env, r) for r in regions)
                step.detail += f"; {healthy} load balancer targets healthy"
            if not self.cfg.environment(env).requires_approval:
                passed = approval.record_staging_pass(
                    self.target.records(), release.digest, release.sha, runrecord.current_run_id()
                )
                runrecord.set_fields(staging_passed_at=passed["passed_at"])
            runrecord.set_fields(smoke={env: [c.__dict__ for c in checks]})
        return checks

    def approve(self, approver: str, digest: str | None = None, build_url: str | None = None) -> dict[str, Any]:
        run_id = _optional_run_id()
        digest = digest or self.release().digest
        with stage("approve", record=run_id is not None) as step:
            value, created = approval.approve(
                self.cfg, self.target.records(), approver=approver, digest=digest, build_url=build_url, run_id=run_id
            )
            step.detail = (
                f"approved by {value['approver']}"
                if created
                else f"already approved by {value['approver']} at {value.get('approved_at_iso')}"
            )
        if run_id is not None and digest == runrecord.load().get("digest"):
            runrecord.set_fields(approval=value)
        return value

    def await_approval(self) -> dict[str, Any]:
        release = self.release()
        with stage("wait for approval") as step:
            step.note(
                f"waiting up to {self.cfg.approvals.timeout_seconds:g} s: `gantry approve --approver NAME "
                f"--digest {release.digest}`"
            )
            value = approval.wait(self.cfg, self.target.records(), release.digest)
            step.detail = f"approved by {value['approver']}"
        runrecord.set_fields(approval=value)
        return value

    def verify(self, env: str) -> None:
        release = self.release()
        with stage(f"verify {env}") as step:
            regions = verify.serving(self.target, self.cfg, env, release)
            detail = f"{len(regions)} regions serve {release.digest[:19]}"
            if self.cfg.target == "local":
                step.note("waiting for Prometheus to scrape every replica")
                seen = verify.prometheus_targets_up(
                    f"http://127.0.0.1:{self.cfg.local_settings.prometheus_port}", self.cfg, env
                )
                detail += f"; Prometheus: {seen} replicas up"
            step.detail = detail

    def rollback(self, env: str, region: str | None = None, *, changed_by_run: bool = False) -> list[str]:
        """Each region back to the release it served before (no approval needed: it served this env already).
        With changed_by_run, only the regions whose deploy in the current run changed them (none: a no-op)."""
        regions = self.region(env, region) or list(reversed(self.cfg.regions_of(env)))
        if changed_by_run:
            deployments = runrecord.load().get("deployments", {})
            regions = [r for r in regions if deployments.get(f"{env}/{r}", {}).get("changed")]
            if not regions:
                return []
        done: list[str] = []
        with stage(f"rollback {env}", record=_optional_run_id() is not None) as step:
            for name in regions:
                previous = self.target.previous_release(env, name)
                if previous is None:
                    raise GantryError(
                        f"{env} in {name} has no previous release to roll back to"
                        + (f" (rolled back so far: {', '.join(done)})" if done else "")
                    )
                step.note(f"{name}: back to {previous.short}")
                self.target.deploy_region(env, name, previous, force=True)
                done.append(f"{name} -> {previous.digest[:19]}")
            step.detail = ", ".join(done)
        return done

    def notify(self, status: str, failed_stage: str | None = None, message: str | None = None) -> list[str]:
        try:
            record = runrecord.load()
        except GantryError:
            record = {}
        event = notify.event(self.cfg, record, status, stage=failed_stage, message=message)
        failures = notify.send(event, notify.sinks(self.cfg, self.target.sinks()))
        if record:
            runrecord.set_fields(notification={"status": status, "failures": failures})
        return failures

    # -- the whole pipeline -------------------------------------------------------------------------------

    def run_all(self, approver: str | None, allow_dirty: bool, force: bool) -> dict[str, Any]:
        started = time.monotonic()
        try:
            self.source(allow_dirty)
            self.mirror()
            if self.cfg.target == "local":
                self.base_image()
            self.build()
            self.push()
            self.deploy("staging", force=force)
            self.smoke("staging")
            if approver:
                self.approve(approver)
            else:
                self.await_approval()
            self.deploy("production", force=force)
            self.smoke("production")
            self.verify("production")
        except GantryError as exc:
            _finish("failed", started, str(exc))
            self.notify("failure", message=str(exc))
            raise
        _finish("success", started, None)
        failures = self.notify("success")
        if failures:
            raise GantryError(f"pipeline succeeded but notification failed: {failures[0]}")
        return runrecord.load()


def _optional_run_id() -> str | None:
    try:
        return runrecord.current_run_id()
    except GantryError:
        return None


def _finish(result: str, started: float, error: str | None) -> None:
    runrecord.set_fields(
        result=result, error=error, finished_at=time.time(), total_seconds=round(time.monotonic() - started, 2)
    )
