"""Stage 2, build: unit tests, then the image built from the commit in the region's source copy."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from docker import DockerClient
from docker.errors import DockerException

from gantry.config import GantryConfig
from gantry.errors import EngineError, GantryError
from gantry.paths import project_root
from gantry.stages.progress import Step
from gantry.stages.source import Source, git


def local_image(cfg: GantryConfig, source: Source) -> str:
    return f"localhost/gantry/{cfg.customer}/{cfg.service.name}:{source.tag}"


def unit_tests(cfg: GantryConfig, step: Step) -> None:
    step.note("unit tests")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *cfg.service.unit_tests],
        cwd=project_root(),
        capture_output=True,
        text=True,
    )
    summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:])
        raise GantryError(f"unit tests failed ({summary}): fix them before building")
    step.detail = summary


def context_archive(repo: Path, cfg: GantryConfig, tree: str) -> bytes:
    """Only what the Dockerfile needs, exactly as committed: `git archive` of the build paths."""
    paths = sorted({cfg.service.context, cfg.service.dockerfile})
    result = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", tree, *paths], capture_output=True)
    if result.returncode != 0:
        raise GantryError(
            f"cannot archive {tree[:12]} from {repo}: {result.stderr.decode().strip()[:200]}: "
            "run `gantry source` so the region copy has the commit"
        )
    return result.stdout


def build(cfg: GantryConfig, client: DockerClient, repo: Path, source: Source, base_image: str, step: Step) -> str:
    if source.dirty:
        repo = project_root()  # the uncommitted changes exist only in the local repository
    git(repo, "cat-file", "-e", f"{source.tree}^{{commit}}")
    image = local_image(cfg, source)
    step.note(f"building {image}")
    try:
        for chunk in client.api.build(
            fileobj=io.BytesIO(context_archive(repo, cfg, source.tree)),
            custom_context=True,
            dockerfile=cfg.service.dockerfile,
            tag=image,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
            buildargs={"BASE_IMAGE": base_image, "GIT_SHA": source.sha},
            labels={"org.opencontainers.image.revision": source.sha, "gantry.customer": cfg.customer},
        ):
            if "error" in chunk:
                raise GantryError(
                    f"image build failed: {str(chunk['error']).strip()[:300]}: fix {cfg.service.dockerfile}"
                )
            if text := str(chunk.get("stream", "")).strip():
                step.note(text.splitlines()[-1][:100])
    except DockerException as exc:
        raise EngineError(f"image build failed in the engine: {str(exc).splitlines()[0][:200]}") from None
    return image
