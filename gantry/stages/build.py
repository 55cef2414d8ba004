"""Stage 2, build: unit tests, then the image built from the commit in the primary region's source copy."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from docker import DockerClient

from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.host import images
from gantry.stages.progress import Step
from gantry.stages.source import Source


def local_image(cfg: GantryConfig, source: Source) -> str:
    return f"localhost/gantry/{cfg.customer}/{cfg.service.name}:{source.tag}"


def context_paths(cfg: GantryConfig) -> list[str]:
    """Only what the Dockerfile needs, exactly as committed."""
    return sorted({cfg.service.context, cfg.service.dockerfile})


def unit_tests(cfg: GantryConfig, root: Path, step: Step) -> None:
    step.note("unit tests")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *cfg.service.unit_tests],
        cwd=root,
        capture_output=True,
        text=True,
    )
    summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:])
        raise GantryError(f"unit tests failed ({summary}): fix them before building")
    step.detail = summary


def build(cfg: GantryConfig, client: DockerClient, context: bytes, source: Source, base_image: str, step: Step) -> str:
    """Build the image from the archived context, FROM `base_image` (pinned by digest); returns its name."""
    image = local_image(cfg, source)
    step.note(f"building {image}")
    images.build(
        client,
        image,
        fix=f"fix {cfg.service.dockerfile}",
        on_line=lambda line: step.note(line[:100]),
        fileobj=io.BytesIO(context),
        custom_context=True,
        dockerfile=cfg.service.dockerfile,
        rm=True,
        forcerm=True,
        pull=False,
        buildargs={"BASE_IMAGE": base_image, "GIT_SHA": source.sha},
        labels={"org.opencontainers.image.revision": source.sha, "gantry.customer": cfg.customer},
    )
    return image
