"""Readable progress for long work: one line per stage start and finish on stderr, a live status line for
the steps inside a stage when stderr is a terminal (plain lines otherwise, so CI logs stay whole), and each
stage's outcome appended to the run record."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from gantry import runrecord
from gantry.errors import GantryError
from gantry.stages.interrupts import Interrupted

console = Console(stderr=True, highlight=False)
# The stages that failed in this process: a command refused before any stage ran (a typo, a bad option, a
# policy) leaves its run as it was, so only these may end a run as failed (gantry.context.notify_run).
failed_here: list[str] = []


@dataclass
class Step:
    name: str
    status: Status | None = None
    detail: str = ""
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Show what the stage is doing now (replaces the live status line; a plain line off a terminal)."""
        self.notes.append(text)
        if self.status is not None:
            self.status.update(f"[bold]{escape(self.name)}[/]: {escape(text)}")
        else:
            console.print(f"  {escape(self.name)}: {escape(text)}", soft_wrap=True)


@contextlib.contextmanager
def stage(name: str, run_id: str | None) -> Iterator[Step]:
    """Run one stage: any exception or interrupt marks it failed in the run record `run_id` (if any)."""
    step = Step(name)
    started = time.monotonic()
    console.print(f"[bold cyan]▶[/] {escape(name)}")
    try:
        if console.is_terminal:
            with console.status(f"[bold]{escape(name)}[/]", spinner="dots") as status:
                step.status = status
                yield step
        else:
            yield step
    except BaseException as exc:
        seconds = time.monotonic() - started
        interrupted = isinstance(exc, (Interrupted, KeyboardInterrupt))
        verb = "interrupted" if interrupted else "failed"
        console.print(f"[bold red]✗[/] {escape(name)} {verb} after {seconds:.1f} s")
        if not interrupted:
            failed_here.append(name)
        if run_id is not None:
            detail = str(exc) if isinstance(exc, GantryError) else f"{type(exc).__name__}: {exc}"
            _record(run_id, name, "interrupted" if interrupted else "failed", seconds, detail)
        raise
    seconds = time.monotonic() - started
    suffix = f" — {escape(step.detail)}" if step.detail else ""
    console.print(f"[bold green]✓[/] {escape(name)} ({seconds:.1f} s){suffix}", soft_wrap=True)
    if run_id is not None:
        _record(run_id, name, "ok", seconds, step.detail)


def _record(run_id: str, name: str, status: str, seconds: float, detail: str) -> None:
    with contextlib.suppress(GantryError):  # the record may be gone (gantry down): the stage result stands
        runrecord.add_stage(run_id, name, status, seconds, detail)
