"""Stage 2, build: the commit's unit tests in a container of its own test image, then the image built from the
commit in the primary region's source copy.

The commit's code is untrusted until it is approved: its tests run in a container built from its Dockerfile's
test stage, with no network, no mounts, no engine socket, no environment but the image's own and no
credentials, so a test that reaches for the run directory, a signing key, a lease or the agent's AWS
credentials finds nothing. The build itself (the Dockerfile's RUN steps) runs in the engine's build containers,
which see the build context only.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

from docker import DockerClient
from docker.errors import APIError, NotFound
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from gantry.config import GantryConfig
from gantry.errors import GantryError
from gantry.host import images
from gantry.stages.progress import Step
from gantry.stages.source import Source

TEST_LABEL = "gantry.role"


def local_image(cfg: GantryConfig, source: Source) -> str:
    return f"localhost/gantry/{cfg.customer}/{cfg.service.name}:{source.tag}"


def test_image(cfg: GantryConfig, source: Source) -> str:
    return f"localhost/gantry/{cfg.customer}/{cfg.service.name}-test:{source.tag}"


def _build(
    cfg: GantryConfig,
    client: DockerClient,
    name: str,
    context: bytes,
    source: Source,
    base_image: str,
    step: Step,
    stage: str | None,
) -> None:
    images.build(
        client,
        name,
        fix=f"fix {cfg.service.in_repo(cfg.service.build.dockerfile)}",
        on_line=lambda line: step.note(line[:100]),
        fileobj=io.BytesIO(context),
        custom_context=True,
        dockerfile=cfg.service.build.dockerfile,
        target=stage,
        rm=True,
        forcerm=True,
        pull=False,
        buildargs={"BASE_IMAGE": base_image, "GIT_SHA": source.sha},
        labels={"org.opencontainers.image.revision": source.sha, "gantry.customer": cfg.customer},
    )


def unit_tests(
    cfg: GantryConfig,
    client: DockerClient,
    context: bytes,
    source: Source,
    base_image: str,
    step: Step,
    log: Path,
    labels: dict[str, str],
) -> str:
    """Build the Dockerfile's test stage and run the service's test command in it, isolated (see above); the
    test output goes to `log`. Returns the last line of the output; GantryError when the tests fail."""
    tests = cfg.service.tests
    image = test_image(cfg, source)
    step.note(f"unit tests: building {tests.target} stage")
    _build(cfg, client, image, context, source, base_image, step, tests.target)
    step.note(f"unit tests: {' '.join(tests.command)[:80]} (no network, no credentials)")
    try:
        container = client.containers.run(
            image,
            command=tests.command,
            detach=True,
            labels={**labels, TEST_LABEL: "unit-tests"},
            network_mode="none",
            environment={},
            security_opt=["no-new-privileges"],
            mem_limit=f"{tests.memory_mib}m",
            pids_limit=512,
        )
    except images.ENGINE_ERRORS as exc:
        raise GantryError(f"the engine refused to run the unit tests: {images.short(exc)}") from None
    try:
        try:
            status = int(container.wait(timeout=tests.timeout_seconds).get("StatusCode", 1))
        except (ReadTimeout, RequestsConnectionError):
            raise GantryError(
                f"the unit tests did not finish within {tests.timeout_seconds:g} s "
                f"(tests.timeout_seconds in {cfg.service.file})"
            ) from None
        raw: bytes = container.logs()
        output = raw.decode(errors="replace")
    finally:
        with contextlib.suppress(NotFound, APIError):
            container.remove(force=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output)
    summary = (output.strip().splitlines() or ["no output"])[-1][:200]
    if status != 0:
        sys.stderr.write(output[-4000:])
        raise GantryError(f"unit tests failed ({summary}; full output in {log}): fix them before building")
    return summary


def build(cfg: GantryConfig, client: DockerClient, context: bytes, source: Source, base_image: str, step: Step) -> str:
    """Build the image from the archived context, FROM `base_image` (pinned by digest); returns its name."""
    image = local_image(cfg, source)
    step.note(f"building {image}")
    _build(cfg, client, image, context, source, base_image, step, cfg.service.build.target)
    return image
