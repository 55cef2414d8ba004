"""Shared test helpers live in tests/support (tests are not a package: see pyproject's --import-mode)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))


class _SuiteClock:
    """Wall time per suite (tests/<suite>/), printed at the end: the split the README's speed table reports."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # report.fspath is relative to the rootdir: tests/<suite>/..., or services/<name>/tests/... for a
        # service's own (its suite is the service's name).
        parts = Path(report.fspath).parts
        suite = parts[1] if parts[0] in ("tests", "services") and len(parts) > 2 else parts[0]
        self.seconds[suite] = self.seconds.get(suite, 0.0) + report.duration
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.counts[suite] = self.counts.get(suite, 0) + 1

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.seconds:
            return
        terminalreporter.write_sep("-", "seconds per suite (setup, call and teardown of its tests)")
        for suite, seconds in sorted(self.seconds.items(), key=lambda item: -item[1]):
            terminalreporter.write_line(f"suite {suite:<10} {seconds:8.1f} s  {self.counts.get(suite, 0):4d} tests")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_SuiteClock(), "gantry-suite-clock")
