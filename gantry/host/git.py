"""The one way gantry runs git: argument lists (never a shell), captured output, one-line errors."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from gantry.errors import GantryError


def git_retrying(*args: str, **kwargs: Any) -> str:
    """git with a few retries, for pushes that another process may be making to the same repository at
    the same moment (git refuses a ref another push holds locked)."""
    retrying = Retrying(
        retry=retry_if_exception_type(GantryError), stop=stop_after_attempt(3), wait=wait_fixed(0.5), reraise=True
    )
    return retrying(git, *args, **kwargs)


def git(
    *args: str,
    cwd: Path | None = None,
    config: Sequence[str] = (),
    timeout: float = 600,
    fix: str = "check the repository",
) -> str:
    """Run `git <config> <args>` and return its stdout; GantryError naming the command and `fix` otherwise.

    `config` holds `-c key=value` pairs placed before the subcommand (credential helpers, for example)."""
    argv = ["git", *config, *args]
    try:
        result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise GantryError("git is not installed: run `make bootstrap`") from None
    except subprocess.TimeoutExpired:
        raise GantryError(f"git {args[0]} did not finish within {timeout:g} s: {fix}") from None
    if result.returncode != 0:
        where = f" in {cwd}" if cwd else ""
        raise GantryError(f"git {args[0]} failed{where}: {_reason(result.stderr)}: {fix}")
    return result.stdout


def _reason(stderr: str) -> str:
    """What the other side said (its `remote:` lines: a hook's refusal) and git's last line, on one line."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    remote = [line.removeprefix("remote:").strip() for line in lines if line.startswith("remote:")]
    return "; ".join([*remote[-3:], *(lines[-1:] or ["no output"])])[:300]


def refs(repo: Path | str) -> dict[str, str]:
    """Every branch and tag of a repository (a path or a URL): ref name -> object id."""
    lines = git("ls-remote", "--heads", "--tags", "--refs", str(repo)).splitlines()
    return {ref: sha for sha, ref in (line.split("\t", 1) for line in lines if "\t" in line)}


def archive(repo: Path, tree: str, paths: Sequence[str]) -> bytes:
    """A tar of `paths` exactly as committed in `tree` (what the image build receives as its context)."""
    result = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", tree, *paths], capture_output=True, check=False
    )
    if result.returncode != 0:
        raise GantryError(
            f"cannot archive {tree[:12]} from {repo}: {result.stderr.decode(errors='replace').strip()[:200]}: "
            "run `gantry source` so the region's source copy has the commit"
        )
    return result.stdout
