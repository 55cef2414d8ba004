"""Shared test helpers live in tests/support (tests are not a package: see pyproject's --import-mode)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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


def worker_group(nodeid: str) -> str:
    """The group of a test under `make test`'s parallel run (pytest-xdist, GroupScheduling below): one group runs
    in one worker, its tests one after another. A module of tests/local shares one local target (its module
    fixture, on the module's own ports); every other suite shares session fixtures on fixed or scanned ports
    (moto, stand-ins, PostgreSQL), and the ansible suite's molecule scenarios run one after another
    (tests/ansible/test_ansible_molecule.py says why)."""
    path = nodeid.partition("::")[0]
    parts = Path(path).parts
    if parts[:2] == ("tests", "local"):
        return f"local-{Path(path).stem}"
    return parts[1] if parts[0] in ("tests", "services") and len(parts) > 2 else parts[0]


def _weight(items: list[pytest.Item]) -> int:
    """Longest first, so the long groups start at once and the quick ones fill the gaps at the end (the scheduler
    keeps this order, `--no-loadscope-reorder`): a group with slow tests (the molecule scenarios, run in sequence),
    then the local targets, then other integration tests, then the rest."""
    if any(item.get_closest_marker("slow") for item in items):
        return 0
    if any(worker_group(item.nodeid).startswith("local-") for item in items):
        return 1
    return 2 if any(item.get_closest_marker("integration") for item in items) else 3


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        groups.setdefault(worker_group(item.nodeid), []).append(item)
    ordered = sorted(groups.values(), key=_weight)  # stable: collection order within a weight
    items[:] = [item for group in ordered for item in group]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `-n N --dist loadscope` (make test), xdist hands out whole groups (worker_group) instead of modules.
    (Its own `loadgroup` mode does not group under pytest 9: the node id suffix it relies on is lost.)"""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return GroupScheduling(config, log)
