"""Each stage as one call (what the CLI commands and the Jenkinsfile run), and the whole pipeline in order.

State between stages travels in the run record (gantry.runrecord), named by a run id the caller resolves
once, so a stage runs the same alone, from Jenkins, or inside `gantry pipeline run`, and two runs in one
checkout never mix. The target is given, never chosen here: the stages know only the Target contract.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from gantry import runrecord
from gantry.errors import GantryError
from gantry.host import engine
from gantry.host.engine import CONTAINER_LABEL
from gantry.paths import run_dir
from gantry.runrecord import RunRecord
from gantry.stages import admission, approval, build, deploy, notify, smoke, source, verify
from gantry.stages.approving import ApprovalStages
from gantry.stages.interrupts import Interrupted
from gantry.stages.progress import stage
from gantry.targets.base import Published, Release


class Pipeline(ApprovalStages):
    """Every stage of a run, in the order `run_all` runs them."""

    # -- stages -------------------------------------------------------------------------------------------
    def source(self, allow_dirty: bool) -> source.Source:
        self._as("build")
        with stage("source", self._run()) as step:
            found = source.run(self.target, self.root, allow_dirty)
            with runrecord.update(self._run()) as record:
                record.sha, record.tag, record.tree, record.dirty = found.sha, found.tag, found.tree, found.dirty
            step.detail = f"{found.tag[:24]}{' (dirty tree)' if found.dirty else ''}"
        return found

    def mirror(self) -> dict[str, str]:
        self._as("build")
        with stage("mirror source", self.run_id) as step:
            refs = self.target.mirror_source()
            step.detail = f"{len(refs)} refs identical in {' and '.join(self.cfg.regions.names)}"
        return refs

    def base_image(self) -> str:
        self._as("build")
        with stage("base image", self.run_id) as step:
            reference = self.target.base_image(step.note)
            if self.run_id is not None:
                with runrecord.update(self.run_id) as record:
                    record.base_image = reference
            step.detail = reference.rsplit("@", 1)[-1][:19]
        return reference

    def build(self, skip_tests: bool = False) -> None:
        self._as("build")
        found = source.of(self.record())
        with stage("build", self._run()) as step:
            if published := self.target.find_published(found.tag):
                step.detail = f"{found.tag[:12]} already published as {published.digest[:19]}: nothing to build"
                with runrecord.update(self._run()) as record:
                    record.digest, record.references, record.built = published.digest, published.references, False
                return
            base = self.record().base_image or self.target.base_image(step.note)
            client = engine.connect(self.target.engine_registries())
            self.target.engine_login(client)
            context = self.target.build_context(found.tree, self.cfg.service.folder)
            tested = "unit tests skipped (--skip-tests)"
            if not skip_tests:
                log = run_dir() / "logs" / f"{self._run()}-unit-tests.log"
                labels = {CONTAINER_LABEL: str(run_dir()), "gantry.customer": self.cfg.customer}
                tested = build.unit_tests(self.cfg, client, context, found, base, step, log, labels)
            image = build.build(self.cfg, client, context, found, base, step)
            with runrecord.update(self._run()) as record:
                record.local_image, record.built, record.base_image = image, True, base
            step.detail = f"{image}; {tested}"

    def push(self) -> Published:
        self._as("build")
        record = self.record()
        with stage("push and replicate", self._run()) as step:
            published = self.target.find_published(record.tag) if record.tag else None
            if published is None:
                if record.local_image is None or record.tag is None:
                    raise GantryError("nothing built in this run: run `gantry build` first")
                published = self.target.publish(record.local_image, record.tag)
            with runrecord.update(self._run()) as updated:
                updated.digest, updated.references = published.digest, published.references
            step.detail = f"{published.digest[:19]} identical in {', '.join(published.references)}"
        return published

    def migrate(self, env: str) -> list[str]:
        """The service's schema migrations, run as a one-off task of the run's image on `env`'s database (before
        its deploy); a protected environment's only once the image is approved for it."""
        self._as(env)
        database = self.cfg.service.database
        if database is None:
            return []
        release = self.release()
        with stage(f"migrate {env}", self._run()) as step:
            admitted = admission.require(
                self.cfg, self.target, env, release, self.cfg.regions_of(env), run_id=self._run(), rollback=False
            )
            if admitted is not None:
                step.note(f"approved by {admitted.approver}")
            lines = self.target.migrate(env, release, database.migrate_command, step.note)
            applied = [line.removeprefix("applied ") for line in lines if line.startswith("applied ")]
            step.detail = f"applied {', '.join(applied)}" if applied else "schema up to date"
        return applied

    def deploy(self, env: str, region: str | None = None, force: bool = False) -> None:
        self._as(env)
        regions = self.cfg.resolve_region(env, region)
        release = self.release()
        label = f"deploy {env}" + (f" ({regions[0]})" if regions else "")
        with stage(label, self._run()) as step:
            outcomes = deploy.deploy_environment(
                self.target,
                self.cfg,
                env,
                release,
                run_id=self._run(),
                command=label,
                force=force,
                regions=regions,
                step=step,
            )
            step.detail = ", ".join(f"{o.region} {'updated' if o.changed else 'unchanged'}" for o in outcomes)

    def smoke(self, env: str, region: str | None = None) -> list[smoke.Check]:
        self._as(env)
        regions = self.cfg.resolve_region(env, region) or self.cfg.regions_of(env)
        release = self.release()
        with stage(f"smoke {env}", self._run()) as step:
            checks = smoke.run({r: self.target.endpoint(env, r) for r in regions}, release, self.cfg.service)
            step.detail = f"{len(checks)} checks passed"
            health = [self.target.health(env, r) for r in regions]
            unhealthy = [f"{r}: {h.detail}" for r, h in zip(regions, health, strict=True) if not h.ok]
            if unhealthy:
                raise GantryError(f"load balancer targets not healthy ({'; '.join(unhealthy)}): see `gantry status`")
            step.detail += f"; {sum(h.healthy for h in health)} load balancer targets healthy"
            with runrecord.update(self._run()) as record:
                record.smoke[env] = [c.__dict__ for c in checks]
            if env == self.cfg.approvals.staging_environment and region is None:
                if approval.protections(self.cfg, self.target, env, regions):
                    raise GantryError(f"the staging environment {env} is protected: protect production, not staging")
                passed = approval.record_staging_pass(self.target, release, self.run_id, env, dirty=self.record().dirty)
                with runrecord.update(self._run()) as record:
                    record.staging_passed_at = float(passed["passed_at"])
        return checks

    def verify(self, env: str) -> None:
        self._as(env)
        release = self.release()
        with stage(f"verify {env}", self._run()) as step:
            regions = verify.serving(self.target, self.cfg, env, release)
            step.detail = f"{len(regions)} regions serve {release.digest[:19]}; "
            step.detail += self.target.verify_monitoring(env, step.note)

    def rollback(self, env: str, region: str | None = None, *, changed_by_run: bool = False) -> list[str]:
        """Each region back to the release it served before. With changed_by_run (the CI failure handler),
        only what this run changed: its unfinished deploy is recovered, its finished one rolled back."""
        self._as(env)
        regions = self.cfg.resolve_region(env, region) or list(reversed(self.cfg.regions_of(env)))
        if changed_by_run:
            open_intent = self.target.leases().peek(env).intent
            if open_intent is not None and open_intent.open and open_intent.run_id == self.run_id:
                return self.recover(env)
            deployments = self.record().deployments
            regions = [
                r
                for r in regions
                if (d := deployments.get(f"{env}/{r}")) is not None and d.changed and d.state == "done"
            ]
            if not regions:
                return []
        run_id = f"{self.run_id or runrecord.new_run_id()}-rollback"
        done: list[str] = []
        with stage(f"rollback {env}", self.run_id) as step:
            # Each target's previous release; deploy_environment admits it on a protected target only if that
            # target ran it to steady state within approvals.rollback_max_age_days.
            targets: dict[Release, list[str]] = {}
            for name in regions:
                previous = self.target.previous_release(env, name)
                if previous is None:
                    raise GantryError(f"{env} in {name} has no previous release to roll back to")
                targets.setdefault(previous, []).append(name)
            for previous, names in targets.items():
                step.note(f"{', '.join(names)}: back to {previous.short}")
                deploy.deploy_environment(
                    self.target,
                    self.cfg,
                    env,
                    previous,
                    run_id=run_id,
                    command=f"rollback {env}",
                    force=True,
                    regions=names,
                    step=step,
                    rollback=True,
                )
                done += [f"{name} -> {previous.digest[:19]}" for name in names]
            step.detail = ", ".join(done)
        return done

    def recover(self, env: str) -> list[str]:
        self._as(env)
        run_id = self.run_id or runrecord.new_run_id()
        with stage(f"recover {env}", self.run_id) as step:
            interrupted = self.target.leases().peek(env).intent
            actions = deploy.recover(self.target, self.cfg, env, run_id=f"{run_id}-recover", step=step)
            step.detail = ", ".join(actions) or "nothing to recover"
        if interrupted is not None and actions and runrecord.exists(interrupted.run_id):
            self._close_interrupted(interrupted.run_id, env)
        return actions

    def _close_interrupted(self, run_id: str, env: str) -> None:
        """The run that left the deploy unfinished: marked interrupted, and its failure notice sent once."""
        record = runrecord.load(run_id)
        if record.result == "running":
            runrecord.finish(run_id, "interrupted", f"its {env} deploy did not finish; recovered by `gantry recover`")
        if record.notification is None:
            Pipeline(self.cfg, self.target, self.root, run_id).notify(
                "failure", failed_stage=f"deploy {env}", message="interrupted deploy, recovered"
            )

    def notify(
        self, status: str, failed_stage: str | None = None, message: str | None = None, *, identity: str = "build"
    ) -> list[str]:
        """Send the run's event once, as `identity`: a run that already notified is not notified again."""
        self._as(identity)
        record = self.record() if self.run_id and runrecord.exists(self.run_id) else None
        if record is not None and record.notification is not None:
            return []
        event = notify.event(self.cfg, record, status, stage=failed_stage, message=message)
        failures = notify.send(event, notify.sinks(self.cfg, self.target.sinks()))
        if record is not None and self.run_id is not None:
            with runrecord.update(self.run_id) as updated:
                updated.notification = runrecord.Notification(status=status, sent_at=time.time(), failures=failures)
            if record.result == "running":  # the final word on a run driven step by step (Jenkins)
                finals: dict[str, runrecord.Result] = {"success": "success", "aborted": "aborted"}
                result = finals.get(status, "failed")
                runrecord.finish(self.run_id, result, message if result != "success" else None)
        return failures

    # -- the whole pipeline -------------------------------------------------------------------------------
    def run_all(
        self,
        approver: str | None,
        allow_dirty: bool,
        force: bool,
        approver_key: Path | None = None,
        on_proposal: Callable[[approval.Proposal], None] | None = None,
    ) -> RunRecord:
        run_id = self._run()
        try:
            self.source(allow_dirty)
            self.mirror()
            self.base_image()
            self.build()
            self.push()
            self.migrate("staging")
            self.deploy("staging", force=force)
            self.smoke("staging")
            self._as("production")
            if approval.protections(self.cfg, self.target, "production", self.cfg.regions_of("production")):
                if self._already_approved():
                    self.check_approval("production", None)
                elif approver:
                    proposal = self.propose(approver)
                    if on_proposal is not None:
                        on_proposal(proposal)
                    self.approve(proposal, approver_key or self._demo_key(approver))
                else:
                    self.await_approval()
            self.migrate("production")
            self.deploy("production", force=force)
            self.smoke("production")
            self.verify("production")
        except BaseException as exc:
            interrupted = isinstance(exc, (Interrupted, KeyboardInterrupt))
            message = str(exc) if isinstance(exc, GantryError) else f"{type(exc).__name__}: {exc}"
            runrecord.finish(run_id, "aborted" if interrupted else "failed", message)
            self.notify("aborted" if interrupted else "failure", message=message)
            raise
        runrecord.finish(run_id, "success", None)
        failures = self.notify("success")
        if failures:
            raise GantryError(f"pipeline succeeded but notification failed: {failures[0]}")
        return runrecord.load(run_id)
