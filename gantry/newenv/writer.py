"""Create a directory tree all at once: write into a hidden sibling, then rename it into place.

A failure at any point leaves no partial environment behind, and an existing directory is never touched.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from gantry.errors import ConfigError, GantryError


def create_tree(target: Path, files: dict[str, str]) -> list[Path]:
    """Create `target` holding `files` (relative path -> text); refuse if `target` exists."""
    if target.exists():
        raise ConfigError(f"{target} already exists: choose another name or delete it (nothing was written)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        staging.chmod(0o755)
        if target.exists():  # created by someone else while we were writing
            raise ConfigError(f"{target} appeared while writing: nothing was written, run again")
        staging.rename(target)
    except OSError as exc:
        raise GantryError(f"could not write {target}: {exc.strerror or exc}; nothing was written") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return [target / relative for relative in files]
