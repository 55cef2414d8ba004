"""Where gantry keeps its state: the project root, the run directory and caches."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import tempfile
from pathlib import Path

from gantry.errors import ConfigError, GantryError


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


def run_dir_tag(root: Path) -> str:
    """A short, stable name for the run directory `root` (directories outside it are named after it)."""
    return f"gantry-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"


def socket_dir(root: Path) -> Path:
    """A short directory for the UNIX sockets of a run directory (socket paths may not exceed 107 bytes)."""
    return Path(tempfile.gettempdir()) / run_dir_tag(root)


def private_directory(path: Path) -> Path:
    """`path` as a directory only this user can enter, made if missing. Its name under /tmp is predictable, so
    one that exists already must be a real directory of this user with no access for others: anything else
    (another user's directory, a symbolic link) could hand our admin sockets to someone else."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = path.lstat()
    if stat.S_ISLNK(found.st_mode) or not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid():
        raise GantryError(f"{path} is not this user's own directory: remove it (it may have been planted), then retry")
    if found.st_mode & 0o077:
        raise GantryError(f"{path} is open to other users (mode {oct(found.st_mode & 0o777)}): remove it, then retry")
    return path
