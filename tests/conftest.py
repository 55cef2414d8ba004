"""Shared test helpers live in tests/support (tests are not a package: see pyproject's --import-mode)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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


def xdist_group(item: pytest.Item) -> str:
    """The worker group of a test under `make test`'s parallel run (pytest-xdist, `--dist loadgroup`): one group
    runs in one worker, its tests one after another. A module of tests/local shares one local target (its module
    fixture, on the module's own ports); every other suite shares session fixtures on fixed or scanned ports (moto,
    stand-ins, PostgreSQL); a molecule scenario marks its own group (tests/ansible/test_ansible_molecule.py)."""
    marker = item.get_closest_marker("xdist_group")
    if marker is not None:
        return str(marker.args[0] if marker.args else marker.kwargs["name"])
    parts = item.path.relative_to(ROOT).parts
    if parts[:2] == ("tests", "local"):
        return f"local-{item.path.stem}"
    return parts[1] if parts[0] in ("tests", "services") and len(parts) > 2 else parts[0]


def _weight(items: list[pytest.Item]) -> int:
    """Heaviest first (a local target, then other slow, then integration tests), so that the long groups start at
    once and the quick ones fill the gaps at the end; xdist keeps this order (`--no-loadscope-reorder`)."""
    if any(xdist_group(item).startswith("local-") for item in items):
        return 0
    if any(item.get_closest_marker("slow") for item in items):
        return 1
    return 2 if any(item.get_closest_marker("integration") for item in items) else 3


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        groups.setdefault(xdist_group(item), []).append(item)
    ordered = sorted(groups.values(), key=_weight)  # stable: collection order within a weight
    items[:] = [item for group in ordered for item in group]
    for name, group in groups.items():
        for item in group:
            if item.get_closest_marker("xdist_group") is None:
                item.add_marker(pytest.mark.xdist_group(name))
