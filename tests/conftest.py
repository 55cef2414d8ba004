"""Shared test helpers live in tests/support (tests are not a package: see pyproject's --import-mode)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
