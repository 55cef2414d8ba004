"""Readable progress for long work: one line per stage start/finish on stderr, a live status line for
the steps inside a stage, and each stage's outcome appended to the JSON run record."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from rich.console import Console
from rich.status import Status

from gantry import runrecord
from gantry.errors import GantryError

console = Console(stderr=True, highlight=False)


@dataclass
class Step:
    name: str
    status: Status | None = None
    detail: str = ""
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Show what the stage is doing now (replaces the live status line)."""
        self.notes.append(text)
        if self.status is not None:
            self.status.update(f"[bold]{self.name}[/]: {text}")


@contextlib.contextmanager
def stage(name: str, *, record: bool = True) -> Iterator[Step]:
    step = Step(name)
    started = time.monotonic()
    console.print(f"[bold cyan]▶[/] {name}")
    try:
        with console.status(f"[bold]{name}[/]", spinner="dots") as status:
            step.status = status
            yield step
    except GantryError as exc:
        seconds = time.monotonic() - started
        console.print(f"[bold red]✗[/] {name} failed after {seconds:.1f} s")
        if record:
            _record(name, "failed", seconds, str(exc))
        raise
    seconds = time.monotonic() - started
    console.print(f"[bold green]✓[/] {name} ({seconds:.1f} s){' — ' + step.detail if step.detail else ''}")
    if record:
        _record(name, "ok", seconds, step.detail)


def _record(name: str, status: str, seconds: float, detail: str) -> None:
    with contextlib.suppress(GantryError):  # a stage run outside any pipeline run has no record to update
        runrecord.add_stage(name, status, seconds, detail)
