"""Jinja2 rendering of the local components' configuration files (templates/ beside this module)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - renders config files, not HTML
)


def render(template: str, **values: Any) -> str:
    return _ENV.get_template(template).render(**values)
