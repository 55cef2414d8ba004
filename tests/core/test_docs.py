"""docs/threat-model.md stays true: every test it names for a control exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"(tests/[\w/]+\.py)(?:::(\w+))?")


def test_every_test_the_threat_model_names_exists() -> None:
    rows = [line for line in (ROOT / "docs/threat-model.md").read_text().splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) >= 24
    missing = []
    for row in rows:
        for path, name in REFERENCE.findall(row.split(" | ")[-1]):
            source = ROOT / path
            if not source.is_file() or (name and not re.search(rf"\bdef {name}\(", source.read_text())):
                missing.append(f"{path}::{name}" if name else path)
    assert not missing, f"docs/threat-model.md names tests that do not exist: {missing}"
