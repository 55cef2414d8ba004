"""The local target's alert rules, as `gantry up` writes them, pass the real `promtool check rules`, and the
database alerts appear exactly when the service has a database."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gantry.targets.local.render import render

PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian prometheus): run `make bootstrap`")
@pytest.mark.parametrize("database", [True, False])
def test_local_rules_pass_promtool(tmp_path: Path, database: bool) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(render("rules.yml.j2", service="cart", database=database))
    result = subprocess.run([str(PROMTOOL), "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = rules.read_text()
    for alert in (
        "DatabaseDown",
        "NoDatabaseWriter",
        "TwoDatabaseWriters",
        "StandbyNotStreaming",
        "ReplicationLagHigh",
    ):
        assert (f"alert: {alert}\n" in text) is database
