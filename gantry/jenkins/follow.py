"""Trigger a pipeline build and follow it: queue item -> build -> streamed console -> result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from gantry.errors import GantryError
from gantry.jenkins.api import Controller


@dataclass(frozen=True)
class Pacing:
    """How often to poll and how long to wait; tests shorten these."""

    poll_seconds: float = 2.0
    queue_timeout_seconds: float = 600.0
    build_timeout_seconds: float = 4 * 3600.0


@dataclass(frozen=True)
class BuildRef:
    job: str
    number: int
    url: str


def pipeline_job(customer: str, service: str) -> str:
    """The job name jenkins/jobs/service-pipeline.yaml renders for a customer and service."""
    return f"{customer}-{service}-pipeline"


def wait_for_build(
    controller: Controller, job: str, queue_id: int, pacing: Pacing, sleep: Callable[[float], None] = time.sleep
) -> BuildRef:
    """Poll the queue item until an executor picks it up."""
    deadline = time.monotonic() + pacing.queue_timeout_seconds
    while True:
        item = controller.queue_item(queue_id)
        if item.get("cancelled"):
            raise GantryError(f"{job}: queue item {queue_id} was cancelled on the controller; trigger again")
        executable = item.get("executable")
        if executable:
            return BuildRef(job=job, number=int(executable["number"]), url=str(executable.get("url", "")))
        if time.monotonic() > deadline:
            why = item.get("why") or "no reason given"
            raise GantryError(
                f"{job}: still queued after {pacing.queue_timeout_seconds:.0f}s ({why}); "
                "check the agents labelled 'gantry'"
            )
        sleep(pacing.poll_seconds)


def stream_console(
    controller: Controller,
    build: BuildRef,
    write: Callable[[str], None],
    pacing: Pacing,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Write the console as it grows until Jenkins says there is no more data (the build finished)."""
    deadline = time.monotonic() + pacing.build_timeout_seconds
    start = 0
    while True:
        chunk = controller.console(build.job, build.number, start)
        if chunk.text:
            write(chunk.text)
        start = chunk.next_start
        if not chunk.more:
            return
        if time.monotonic() > deadline:
            raise GantryError(
                f"{build.job} #{build.number} still running after "
                f"{pacing.build_timeout_seconds:.0f}s; follow it at {build.url}"
            )
        sleep(pacing.poll_seconds)


def final_result(
    controller: Controller, build: BuildRef, pacing: Pacing, sleep: Callable[[float], None] = time.sleep
) -> str:
    """The build's result; the console can end a moment before Jenkins records it."""
    for _ in range(30):
        info = controller.build_info(build.job, build.number)
        if not info.get("building") and info.get("result"):
            return str(info["result"])
        sleep(pacing.poll_seconds)
    raise GantryError(f"{build.job} #{build.number} has no result yet; check {build.url}")
