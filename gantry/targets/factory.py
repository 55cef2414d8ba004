"""Picks the target an environment file names."""

from __future__ import annotations

from gantry.config import GantryConfig
from gantry.targets.base import Target


def make_target(cfg: GantryConfig) -> Target:
    """The target the configuration names; imports lazily so the local target never loads boto3 code paths."""
    if cfg.target == "local":
        from gantry.local.target import LocalTarget

        return LocalTarget(cfg)
    from gantry.targets.aws.target import AwsTarget

    return AwsTarget(cfg)
