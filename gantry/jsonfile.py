"""Crash-safe JSON files: a reader never sees half a record, and create-only writes never overwrite. Reading
one that is damaged (by hand, a full disk, another tool) ends in one line naming the file, never a traceback."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gantry.errors import GantryError
from gantry.schema import describe

Model = TypeVar("Model", bound=BaseModel)
# What to do about a damaged state file, unless its reader knows better.
SET_ASIDE = "move it aside (gantry's own state, written again by the next change), then retry"


class CorruptState(GantryError):
    """A state file gantry wrote is no longer what it wrote."""


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


def read(path: Path, fix: str = SET_ASIDE) -> Any:
    """The JSON in `path`; CorruptState naming the file and `fix` when it is not JSON."""
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptState(f"{path} is not valid JSON ({type(exc).__name__}): {fix}") from None


def load(path: Path, model: type[Model], fix: str = SET_ASIDE) -> Model:
    """`path` read as `model`; CorruptState naming the file, the field and `fix` when it is not one."""
    data = read(path, fix)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise CorruptState(f"{path} is not a valid {model.__name__} record ({describe(exc)}): {fix}") from None
