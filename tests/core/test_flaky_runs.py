"""scripts/flaky-runs.py: how it reads pytest's JUnit XML reports of several runs into each test's history."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("flaky_runs", REPO / "scripts" / "flaky-runs.py")
assert SPEC and SPEC.loader
flaky_runs = importlib.util.module_from_spec(SPEC)
sys.modules["flaky_runs"] = flaky_runs
SPEC.loader.exec_module(flaky_runs)


def junit(tmp_path: Path, name: str, body: str) -> Path:
    """A real pytest JUnit report of a small test file whose outcome `body` decides."""
    test_file = tmp_path / f"test_{name}.py"
    test_file.write_text(body)
    report = tmp_path / f"{name}.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", str(test_file)],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    return report


def test_a_test_that_failed_in_one_run_of_two_is_reported_with_that_run(tmp_path: Path) -> None:
    passing = "def test_steady():\n    pass\n\ndef test_wobbly():\n    pass\n"
    failing = "def test_steady():\n    pass\n\ndef test_wobbly():\n    assert 1 == 2, 'wobbled'\n"
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    found = flaky_runs.histories([junit(first, "run", passing), junit(second, "run", failing)])
    wobbly = next(history for name, history in found.items() if name.endswith("test_wobbly"))
    steady = next(history for name, history in found.items() if name.endswith("test_steady"))
    assert wobbly.runs == [1, 2] and list(wobbly.failures) == [2] and "wobbled" in wobbly.failures[2]
    assert steady.runs == [1, 2] and not steady.failures


def test_skipped_tests_are_left_out_and_errors_count_as_failures(tmp_path: Path) -> None:
    body = (
        "import pytest\n\n@pytest.fixture\ndef broken():\n    raise RuntimeError('set-up broke')\n\n"
        "def test_uses_broken(broken):\n    pass\n\n"
        "@pytest.mark.skip(reason='not here')\ndef test_skipped():\n    pass\n"
    )
    found = flaky_runs.histories([junit(tmp_path, "run", body)])
    assert not any(name.endswith("test_skipped") for name in found)
    errored = next(history for name, history in found.items() if name.endswith("test_uses_broken"))
    assert list(errored.failures) == [1]
