"""Stages 4 and 7, deploy: one environment, region by region, in the configured order.

Cross-region policy (docs/decisions.md): if a region fails, that region restores itself (the target's
contract), and every other region of the environment that this call already moved to the new release is
rolled back to what it served before, so all regions end on the same release. A region that had no
previous release (first deploy) cannot be rolled back; it keeps the new release and the error says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from gantry.config import GantryConfig
from gantry.errors import DeployError
from gantry.stages import approval
from gantry.stages.progress import Step
from gantry.targets.base import Release, Target


@dataclass(frozen=True)
class RegionOutcome:
    region: str
    previous: Release | None
    changed: bool


def deploy_environment(
    target: Target,
    cfg: GantryConfig,
    env: str,
    release: Release,
    *,
    force: bool = False,
    regions: list[str] | None = None,
    step: Step | None = None,
) -> list[RegionOutcome]:
    cfg.environment(env)
    order = [cfg.check_region(env, region) for region in regions] if regions else cfg.regions_of(env)
    if cfg.environment(env).requires_approval:
        approval.require(cfg, target.records(), release.digest)
    done: list[RegionOutcome] = []
    for region in order:
        if step:
            step.note(f"{region}: rolling out {release.short}")
        previous = target.current_release(env, region)
        try:
            changed = target.deploy_region(env, region, release, force=force)
        except DeployError as exc:
            raise DeployError(f"{exc}{_roll_back(target, env, done, step)}") from None
        done.append(RegionOutcome(region, previous, changed))
    return done


def _roll_back(target: Target, env: str, done: list[RegionOutcome], step: Step | None) -> str:
    notes = []
    for outcome in reversed([o for o in done if o.changed]):
        if outcome.previous is None:
            notes.append(f"{outcome.region} keeps the new release (first deploy, nothing to roll back to)")
            continue
        if step:
            step.note(f"{outcome.region}: rolling back to {outcome.previous.short}")
        try:
            target.deploy_region(env, outcome.region, outcome.previous, force=True)
            notes.append(f"{outcome.region} rolled back to {outcome.previous.digest[:19]}")
        except DeployError as exc:
            notes.append(
                f"{outcome.region} ROLLBACK FAILED ({exc}): run `gantry rollback --env {env} --region {outcome.region}`"
            )
    return f"; {'; '.join(notes)}" if notes else ""
