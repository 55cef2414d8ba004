"""What every `gantry` command shares: the consoles, the configuration and target it runs against, and the
pipeline of the run it belongs to (resolved once per command)."""

from __future__ import annotations

import contextlib
import os
import sys
from functools import cached_property

import click
from rich.console import Console

from gantry import runrecord
from gantry.config import GantryConfig, load_config
from gantry.paths import project_root
from gantry.stages import interrupts, progress
from gantry.stages.pipeline import Pipeline
from gantry.targets.base import Target
from gantry.targets.factory import make_target

# Tables keep their width when stdout is a pipe or a CI log (no terminal to measure).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)
ENV_OPTION = click.option("--env", "env", required=True, help="Environment name (staging, production...).")
REGION_OPTION = click.option("--region", default=None, help="primary, secondary or a region name (default: all).")


class Context:
    # The command being run, so a failure can still notify its run (see main).
    current: Context | None = None

    def __init__(self, config: str | None) -> None:
        self._config = config
        self.last: Pipeline | None = None
        Context.current = self

    @cached_property
    def cfg(self) -> GantryConfig:
        return load_config(self._config)

    @cached_property
    def target(self) -> Target:
        return make_target(self.cfg)

    def act_as(self, identity: str | None) -> Target:
        """The target, acting as `identity` for what follows (Target.act_as); an unknown environment is refused
        before anything is touched."""
        if identity not in (None, "build"):
            self.cfg.environment(identity)
        self.target.act_as(identity, runrecord.latest_run_id())
        return self.target

    def pipeline(self, run_id: str | None = None, *, new_run: bool = False) -> Pipeline:
        """The pipeline for this command; the run id is resolved here, once: a new run (new_run), the one
        given, or GANTRY_RUN_ID / the latest run."""
        pipeline = Pipeline(self.cfg, self.target, project_root(), run_id or runrecord.latest_run_id())
        if new_run:
            pipeline.start(runrecord.new_run_id())
        self.last = pipeline
        return pipeline


def notify_run(status: str, message: str) -> None:
    """A stage of a run failed, or the command was interrupted: the run's notification goes out (once per run).
    A command refused before any stage of it ran (bad input, a policy) changes nothing: the run goes on."""
    ctx = Context.current
    pipeline = ctx.last if ctx else None
    if pipeline is None or pipeline.run_id is None or not runrecord.exists(pipeline.run_id):
        return
    if status == "failure" and not progress.failed_here:
        return
    if os.environ.get("GANTRY_NOTIFY_ON_FAILURE", "true") == "false":
        return  # the run's driver sends its one notice (the Jenkinsfile's post)
    # As the identity the failing stage acted as: on a release agent only the release identity is there.
    acting_as = pipeline.acting_as if pipeline.acting_as and pipeline.cfg.is_protected(pipeline.acting_as) else "build"
    # Notifying must never hide the error being reported, nor be cut short by a second Ctrl-C.
    with contextlib.suppress(Exception), interrupts.shielded():
        pipeline.notify(status, message=message, identity=acting_as)


pass_ctx = click.make_pass_decorator(Context)
