"""Stage 1, source: which commit ships, and the region copies of the repository it is built from."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gantry import runrecord
from gantry.errors import GantryError
from gantry.paths import project_root
from gantry.targets.base import Target


@dataclass(frozen=True)
class Source:
    sha: str  # the commit being shipped
    tag: str  # image tag: the SHA, or "<sha>-dirty.<hash>" for an explicitly allowed dirty tree
    tree: str  # what the build archives: the SHA, or a commit object holding the uncommitted changes
    dirty: bool


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise GantryError(
            f"git {' '.join(args[:2])} failed: {result.stderr.strip()[:200]} "
            f"(is {root} a git repository with a commit?)"
        )
    return result.stdout.strip()


def resolve(root: Path, allow_dirty: bool) -> Source:
    sha = git(root, "rev-parse", "--verify", "HEAD^{commit}")
    changes = git(root, "status", "--porcelain", "--untracked-files=no")
    if not changes:
        return Source(sha, sha, sha, dirty=False)
    if not allow_dirty:
        count = len(changes.splitlines())
        raise GantryError(
            f"the working tree has {count} uncommitted change(s): commit them, or pass "
            "--allow-dirty to ship them under a '-dirty' tag"
        )
    # `git stash create` makes a commit of the tracked changes without touching refs or the working tree.
    tree = git(root, "stash", "create")
    digest = hashlib.sha256(git(root, "diff", "HEAD").encode()).hexdigest()[:8]
    return Source(sha, f"{sha}-dirty.{digest}", tree, dirty=True)


def run(target: Target, allow_dirty: bool) -> Source:
    root = project_root()
    source = resolve(root, allow_dirty)
    target.push_source(root)
    runrecord.set_fields(sha=source.sha, tag=source.tag, tree=source.tree, dirty=source.dirty)
    return source


def current() -> Source:
    record = runrecord.load()
    if "sha" not in record:
        raise GantryError("this run has no source yet: run `gantry source` first")
    return Source(record["sha"], record["tag"], record["tree"], record["dirty"])
