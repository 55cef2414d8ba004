"""Each stage as one call (what the CLI commands and the Jenkinsfile run), and the whole pipeline in order.

State between stages travels in the run record (gantry.runrecord), named by a run id the caller resolves
once, so a stage runs the same alone, from Jenkins, or inside `gantry pipeline run`, and two runs in one
checkout never mix. The target is given, never chosen here: the stages know only the Target contract.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from gantry import approvals, runrecord
from gantry.config import GantryConfig
from gantry.errors import ApprovalError, GantryError
from gantry.host import engine
from gantry.host.engine import CONTAINER_LABEL
from gantry.paths import run_dir
from gantry.runrecord import RunRecord
from gantry.stages import approval, build, change, deploy, notify, smoke, source, verify
from gantry.stages.interrupts import Interrupted
from gantry.stages.progress import stage
from gantry.targets.base import Published, Release, Target


class Pipeline:
    def __init__(self, cfg: GantryConfig, target: Target, root: Path, run_id: str | None) -> None:
        self.cfg = cfg
        self.target = target
        self.root = root
        self.run_id = run_id
        self.acting_as: str | None = None  # the identity the last stage acted as

    # -- the run record -----------------------------------------------------------------------------------
    def start(self, run_id: str) -> RunRecord:
        self.run_id = run_id
        return runrecord.create(
            run_id,
            customer=self.cfg.customer,
            service=self.cfg.service.name,
            config=str(self.cfg.source),
            target=self.cfg.target,
        )

    def _run(self) -> str:
        if self.run_id is None:
            raise GantryError("no pipeline run yet: start one with `gantry source` (or `gantry pipeline run`)")
        return self.run_id

    def record(self) -> RunRecord:
        return runrecord.load(self._run())

    def _as(self, identity: str | None) -> None:
        """The stage that follows acts as `identity` (Target.act_as): "build", an environment, or None."""
        self.acting_as = identity
        self.target.act_as(identity, self.run_id)

    def release(self) -> Release:
        record = self.record()
        if not record.digest or not record.sha:
            raise GantryError("this run has no published image: run `gantry push` first")
        return Release(record.sha, record.digest)

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
            context = self.target.build_context(found.tree, build.context_paths(self.cfg))
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
            admitted = approval.require(
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
        release = self.release()
        regions = self.cfg.resolve_region(env, region)
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
        release = self.release()
        regions = self.cfg.resolve_region(env, region) or self.cfg.regions_of(env)
        with stage(f"smoke {env}", self._run()) as step:
            checks = smoke.run({r: self.target.endpoint(env, r) for r in regions}, release)
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

    def propose(self, approver: str, *, env: str = "production", digest: str | None = None) -> approval.Proposal:
        """What `approver` would sign for `digest` (default: this run's) in `env`: shown before they sign."""
        self._as(None)
        return approval.propose(
            self.cfg, self.target, env=env, digest=digest or self.release().digest, approver=approver
        )

    def approve(
        self, proposal: approval.Proposal, key: Path, *, env: str = "production", print_only: bool = False
    ) -> approvals.SignedApproval:
        """Sign `proposal` (the statement shown to the approver) and, unless `print_only`, store it."""
        # Signing for someone else to paste (--print) is not this run's approval; storing it is, in env's records.
        self._as(None if print_only else env)
        with stage("sign approval" if print_only else "approve", self.run_id) as step:
            signed = approval.sign_as(self.target, env, proposal.statement, proposal.policy, key, not print_only)
            statement = signed.parse()
            step.detail = f"signed by {statement.approver} for {len(statement.subject.targets)} target(s)"
        self._note_approval(statement)
        return signed

    def import_approval(
        self, raw: str, *, env: str, submitter: str | None, digest: str | None = None
    ) -> approvals.Statement:
        """Store a signed approval made on the approver's machine (Jenkins' input step), once it verifies. On an
        agent whose run record has no release yet (the release agent), the verified statement supplies it."""
        self._as(env)
        signed = approval.parse_pasted(raw, "gantry approve --print")
        subject = signed.parse().subject
        if not isinstance(subject, approvals.DeploySubject):
            raise ApprovalError("the pasted approval is not a deploy approval: paste `gantry approve --print`'s")
        record = self._release_agent_record()
        digest = digest or (record.digest if record is not None and record.digest else subject.digest)
        with stage("approve", self.run_id) as step:
            statement = approval.import_signed(self.cfg, self.target, raw, env=env, digest=digest, submitter=submitter)
            step.detail = f"signed by {statement.approver}"
        self._release_from(statement)
        return statement

    def _release_agent_record(self) -> RunRecord | None:
        """This run's record; on an agent where the run has none yet (the release agent's first command), it
        starts here, its release to come from the approval it verifies."""
        if self.run_id is None:
            return None
        if not runrecord.exists(self.run_id):
            self.start(self.run_id)
        return self.record()

    def _release_from(self, statement: approvals.Statement) -> None:
        """A run record without a release takes the verified approval's; then the approval is noted."""
        subject = statement.subject
        if self.run_id is not None and isinstance(subject, approvals.DeploySubject) and not self.record().digest:
            with runrecord.update(self.run_id) as updated:
                updated.sha, updated.digest = subject.sha, subject.digest
        self._note_approval(statement)

    def change(self, env: str) -> change.Change:
        """What this run's release would change in `env` (the approver's summary): checked like an approval
        would check it, so a commit off the protected branch or a refused task definition shows here first."""
        self._as("build")
        release = self.release()
        regions = self.cfg.regions_of(env)
        return change.of(self.cfg, self.target, env, release, regions)

    def check_approval(self, env: str, approver: str | None, digest: str | None = None) -> approvals.Statement:
        """A valid approval of `digest` (default: this run's) is on record (by `approver`, when given). On the
        release agent the run's release comes from that approval."""
        self._as(env)
        record = self._release_agent_record()
        if digest is None:
            digest = self.release().digest
        elif record is not None and record.digest not in (None, digest):
            raise ApprovalError(f"this run ships {record.digest[:19]}, not {digest[:19]}: pass its digest")
        with stage("approval check", self.run_id) as step:
            candidates = None
            if approver is not None:  # theirs only: another approver's valid approval does not answer for them
                candidates = [
                    signed
                    for signed in approval.stored(self.target, env, approval.digest_key(digest) + "--")
                    if approval.signed_by(signed, approver)
                ]
                if not candidates:
                    raise ApprovalError(f"no approval of {digest[:19]} by {approver} is on record for {env}")
            statement, _ = approval.verify_for_deploy(
                self.cfg, self.target, env, digest, self.cfg.regions_of(env), candidates=candidates
            )
            step.detail = f"approved by {statement.approver}"
        self._release_from(statement)
        return statement

    def await_approval(self, env: str = "production") -> approvals.Statement:
        self._as(env)
        release = self.release()
        with stage("wait for approval", self._run()) as step:
            step.note(
                f"waiting up to {self.cfg.approvals.timeout_seconds:g} s: `gantry approve --env {env} "
                f"--digest {release.digest} --approver EMAIL --key KEY`"
            )
            statement = approval.wait(self.cfg, self.target, env, release.digest)
            step.detail = f"approved by {statement.approver}"
        self._note_approval(statement)
        return statement

    def _note_approval(self, statement: approvals.Statement) -> None:
        if self.run_id is None or not runrecord.exists(self.run_id):
            return
        subject = statement.subject
        if isinstance(subject, approvals.DeploySubject) and subject.digest == self.record().digest:
            with runrecord.update(self.run_id) as record:
                record.approval = {
                    "approver": statement.approver,
                    "approved_at": statement.approved_at.isoformat(),
                    "expires_at": statement.expires_at.isoformat(),
                    "targets": subject.targets,
                }

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
    def _already_approved(self) -> bool:
        """A valid approval of this run's digest is on record (a second run reuses it, signs nothing new)."""
        if self.record().dirty:
            return False
        self._as("production")
        try:
            approval.verify_for_deploy(
                self.cfg, self.target, "production", self.release().digest, self.cfg.regions_of("production")
            )
        except ApprovalError:
            return False
        return True

    def _demo_key(self, approver: str) -> Path:
        key = self.target.demo_key()
        if key is None or approver != self.cfg.approvals.demo_signer:
            raise GantryError(f"pass --key with {approver}'s SSH key (only the local demo signer has a key here)")
        return key

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
