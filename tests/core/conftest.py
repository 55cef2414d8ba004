"""Fixtures for the core unit tests: a throw-away configuration and run directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gantry.config import GantryConfig, load_config

ROOT = Path(__file__).resolve().parents[2]


def example_config() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "environments/example/local.yaml").read_text())


@pytest.fixture
def example() -> dict:  # type: ignore[type-arg]
    """A fresh copy of the shipped example environment, to modify."""
    return example_config()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GANTRY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANTRY_RUN_ID", raising=False)
    yield tmp_path / "home"


@pytest.fixture
def write_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(data: dict, name: str = "env.yaml") -> Path:  # type: ignore[type-arg]
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data))
        return path

    return write


@pytest.fixture
def cfg(write_config) -> GantryConfig:  # type: ignore[no-untyped-def]
    return load_config(str(write_config(example_config())))
