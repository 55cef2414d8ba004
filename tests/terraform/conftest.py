"""Make the shared helpers in tfhelpers.py importable (tests here are not a package)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tfhelpers import terraform_bin

__all__ = ["terraform_bin"]
