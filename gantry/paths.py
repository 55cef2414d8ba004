"""Where gantry keeps its state: the project root, the run directory and caches."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gantry.errors import ConfigError


def project_root() -> Path:
    """The repository root: $GANTRY_ROOT, else the git top level of the working directory, else cwd."""
    if env := os.environ.get("GANTRY_ROOT"):
        return Path(env).resolve()
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        return Path(top)
    except (OSError, subprocess.SubprocessError):
        return Path.cwd()


def run_dir() -> Path:
    """Everything the local target creates lives here, so `gantry down` can remove all of it."""
    path = Path(os.environ.get("GANTRY_HOME") or project_root() / ".gantry").resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"the run directory {path} is not a directory: point GANTRY_HOME at a directory, or unset it")
    return path


def cache_dir() -> Path:
    """Slow-to-make artefacts (the debootstrap rootfs) that survive `gantry down`."""
    return Path(os.environ.get("GANTRY_CACHE") or project_root() / ".cache").resolve()
