"""Crash-safe JSON files: a reader never sees half a record, and create-only writes never overwrite."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: Any) -> None:
    write_atomic_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_atomic_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text` in one rename: readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    Path(tmp).chmod(mode)
    Path(tmp).replace(path)


def create_once(path: Path, data: Any) -> bool:
    """Write `data` only if `path` does not exist yet; returns False (and writes nothing) if it does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)  # link() fails if the name exists: an atomic create-if-absent
    except FileExistsError:
        return False
    finally:
        Path(tmp).unlink()
    return True


def read(path: Path) -> Any:
    return json.loads(path.read_text())
