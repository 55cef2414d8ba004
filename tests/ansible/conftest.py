"""Fixtures shared by the Ansible tests: paths, the molecule wrapper and environment checks."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gantry.host import podman

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = ROOT / "ansible"
ROLES_DIR = ANSIBLE_DIR / "roles"
MOLECULE = ANSIBLE_DIR / "molecule" / "molecule.sh"
TEST_IMAGE = "localhost/gantry/molecule-debian12:bookworm"
BASE_IMAGE = "localhost/gantry/debian-base:bookworm"


def podman_env() -> dict[str, str]:
    return {
        **podman.cli_environment(),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
    }


@pytest.fixture(scope="session")
def molecule_ready() -> None:
    """Skip (with the exact reason) when the container engine or the test images are missing."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (scripts/bootstrap.sh installs it)")
    for image in (TEST_IMAGE, BASE_IMAGE):
        found = subprocess.run(["podman", "image", "exists", image], env=podman_env(), check=False)
        if found.returncode != 0:
            pytest.skip(f"image {image} is missing: run scripts/setup-ansible.sh")


def _run_molecule(scenario: str, action: str = "test", timeout: int = 900) -> str:
    """Run one molecule action; fail with the tail of its output when it does not succeed."""
    result = subprocess.run(
        [str(MOLECULE), action, "-s", scenario],
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"molecule {action} -s {scenario} failed (rc {result.returncode}):\n{output[-6000:]}")
    return output


MoleculeRunner = Callable[..., str]


@pytest.fixture(scope="session")
def run_molecule(molecule_ready: None) -> MoleculeRunner:
    return _run_molecule
