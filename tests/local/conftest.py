"""Fixture: a private local target per test module (see local_stack.py); a module sets PORT_BASE."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from local_stack import GANTRY, Stack, make_stack, ports_for


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not GANTRY.exists():
        pytest.skip("the virtualenv is missing: run `make bootstrap` (make test does)")
    base = getattr(request.module, "PORT_BASE", 25000)
    made = make_stack(tmp_path_factory.mktemp("local-target"), ports_for(base))
    yield made
    made.gantry("down", ok=False)
