"""SIGINT and SIGTERM end a gantry command the way an error does: the stage is marked, the deploy in flight
rolls back, the failure notification goes out, then the process exits. While a rollback runs, a second
signal is held back (and announced) until the rollback is done, so an impatient Ctrl-C never leaves a region
half restored."""

from __future__ import annotations

import contextlib
import faulthandler
import signal
import sys
from collections.abc import Iterator
from types import FrameType


class Interrupted(BaseException):
    """Raised in the main thread when SIGINT or SIGTERM arrives (a BaseException, like KeyboardInterrupt,
    so no `except Exception` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_pending: list[int] = []
_shield_depth = 0


def _raise(signum: int, _frame: FrameType | None) -> None:
    if _shield_depth:
        _pending.append(signum)
        sys.stderr.write(f"\n{signal.Signals(signum).name} received: finishing the rollback first\n")
        return
    raise Interrupted(signum)


def install() -> None:
    """Route SIGINT and SIGTERM through Interrupted (call once, from the CLI's main thread)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise)
    # SIGUSR1 prints every thread's stack to stderr: where a command that seems stuck is waiting.
    faulthandler.register(signal.SIGUSR1, all_threads=True)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Defer SIGINT/SIGTERM for the duration of the block; re-raise the first one afterwards."""
    global _shield_depth  # noqa: PLW0603 - signal handlers can only reach module state
    _shield_depth += 1
    try:
        yield
    finally:
        _shield_depth -= 1
    if not _shield_depth and _pending:
        signum = _pending[0]
        _pending.clear()
        raise Interrupted(signum)
