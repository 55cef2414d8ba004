"""Stage 8, verify: every region of the environment serves the release through its load balancer (and the
target's monitoring sees every replica: Target.verify_monitoring)."""

from __future__ import annotations

import requests

from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.targets.base import Endpoints, Release


def serving(target: Endpoints, cfg: GantryConfig, env: str, release: Release) -> dict[str, str]:
    found = {}
    for region in cfg.regions_of(env):
        url = target.endpoint(env, region) + cfg.service.health.version
        try:
            digest = requests.get(url, timeout=5).json().get("digest")
        except (requests.RequestException, ValueError) as exc:
            raise GantryError(
                f"{env} in {region} does not answer at {url} ({exc.__class__.__name__}): see `gantry status`"
            ) from None
        if digest != release.digest:
            raise GantryError(
                f"{env} in {region} serves {str(digest)[:19]}, expected {release.digest[:19]}: "
                f"run `gantry deploy --env {env}`"
            )
        found[region] = digest
    return found
