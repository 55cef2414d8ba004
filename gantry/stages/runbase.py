"""What every stage of a run shares: the run record named by the run id (created by the first stage, then
read and extended by each), the release it ships, and the identity the next stage acts as."""

from __future__ import annotations

from pathlib import Path

from gantry import runrecord
from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.runrecord import RunRecord
from gantry.targets.base import Release, Target


class RunStages:
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
        """The stage that follows acts as `identity` (Target.act_as): "build", an environment, or None. An
        unknown environment is refused here, before anything (a lease, a record) is touched."""
        if identity not in (None, "build"):
            self.cfg.environment(identity)
        self.acting_as = identity
        self.target.act_as(identity, self.run_id)

    def release(self) -> Release:
        record = self.record()
        if not record.digest or not record.sha:
            raise GantryError("this run has no published image: run `gantry push` first")
        return Release(record.sha, record.digest)
