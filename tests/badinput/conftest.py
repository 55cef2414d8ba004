"""Fixture: `gantry`, the entry point with a run directory of its own (harness.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import gantry  # noqa: F401 (the fixture)
