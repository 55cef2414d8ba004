"""What every validated file (the environment file, a service's contract) shares: strict models, one-line
errors and repository paths that may not leave the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gantry.errors import ConfigError


class Strict(BaseModel):
    """Unknown fields are errors, so a typo never silently falls back to a default; values are taken as the
    file types them (`true` is no number, "5" no integer) and numbers are finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


Command = Annotated[list[Annotated[str, Field(min_length=1, max_length=4096)]], Field(min_length=1, max_length=64)]
RepoPath = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}$")]


def inside(root: Path, value: str, field: str) -> Path:
    """`value` resolved against the repository `root`, symlinks included; ConfigError naming `field` when it
    leaves the repository."""
    base = root.resolve()
    path = (base / value).resolve()
    if not path.is_relative_to(base):
        raise ConfigError(f"{field}: {value!r} leaves the repository: give a path inside {base}")
    return path


def describe(error: ValidationError, prefix: str = "") -> str:
    """The first validation error as `<field path>: <message>` (+N more)."""
    first = error.errors()[0]
    where = ".".join([*(prefix.split(".") if prefix else []), *(str(part) for part in first["loc"])])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field (remove it or fix its spelling)"
    elif first["type"] == "string_pattern_mismatch":
        # The value as given, control characters escaped, so the one line stays one line.
        shown = repr(first["input"])[:80]
        message = f"{shown} is not allowed here: give a value matching {first['ctx']['pattern']}"
    message = message.replace("\n", "\\n").replace("\r", "\\r")
    more = len(error.errors()) - 1
    return (f"{where}: {message}" if where else message) + (f" (+{more} more)" if more else "")
