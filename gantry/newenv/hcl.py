"""Read Terraform files with python-hcl2 into plain Python values.

python-hcl2 keeps HCL quoting in its output (`'"name"'` for the string `name`) and adds bookkeeping keys
(`__is_block__`, `__comments__`); `load_tf` strips both so callers compare ordinary strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2

from gantry.errors import ConfigError

_BOOKKEEPING = frozenset({"__is_block__", "__comments__", "__inline_comments__", "__start_line__", "__end_line__"})


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {unquote(k): normalise(v) for k, v in value.items() if k not in _BOOKKEEPING}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, str):
        return unquote(value)
    return value


def load_tf(path: Path) -> dict[str, Any]:
    """Parse one .tf/.tfvars file; raises ConfigError naming the file when it is not valid HCL."""
    try:
        with path.open(encoding="utf-8") as handle:
            raw = hcl2.load(handle)
    except Exception as exc:  # python-hcl2 raises lark errors of several types
        raise ConfigError(f"{path}: not valid HCL ({type(exc).__name__}): fix the syntax") from None
    result = normalise(raw)
    assert isinstance(result, dict)  # noqa: S101 - hcl2 always returns a mapping for a file
    return result


def blocks(document: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Single-label blocks (`variable "x" {}`, `module "x" {}`) of a parsed file as {label: body}."""
    found: dict[str, dict[str, Any]] = {}
    for entry in document.get(kind, []):
        for label, body in entry.items():
            found[label] = body
    return found


def typed_blocks(document: dict[str, Any], kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Two-label blocks (`resource "type" "name" {}`) as {(type, name): body}."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in document.get(kind, []):
        for type_name, named in entry.items():
            for name, body in named.items():
                found[(type_name, name)] = body
    return found
