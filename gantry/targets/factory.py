"""Makes the target an environment file names, from the `gantry.targets` entry points (pyproject.toml).

Only the CLI calls this: stages receive a target and never choose one, and a new target is one package plus
one entry point line.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import cast

from gantry.config import TARGETS_GROUP, GantryConfig, registered_targets
from gantry.errors import ConfigError
from gantry.targets.base import Target


def make_target(cfg: GantryConfig) -> Target:
    found = [entry for entry in entry_points(group=TARGETS_GROUP) if entry.name == cfg.target]
    if not found:
        raise ConfigError(f"{cfg.source}: target '{cfg.target}' is not installed (known: {registered_targets()})")
    factory = found[0].load()
    return cast(Target, factory(cfg))
