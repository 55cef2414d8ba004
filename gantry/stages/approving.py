"""The approval stages of a run: what an approver is shown and signs, importing a statement signed elsewhere
(Jenkins' input step; on a release agent the run's release comes from it), checking or awaiting one on
record. The rules are gantry.stages.approval's; this is where a run's record meets them."""

from __future__ import annotations

from pathlib import Path

from gantry import approvals, runrecord
from gantry.errors import ApprovalError, GantryError
from gantry.runrecord import RunRecord
from gantry.stages import approval, change
from gantry.stages.progress import stage
from gantry.stages.runbase import RunStages


class ApprovalStages(RunStages):
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
