"""Stage 1, source: which commit ships, pushed to the primary region's source copy the build reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from gantry.errors import GantryError
from gantry.host.git import git
from gantry.runrecord import RunRecord
from gantry.targets.base import SourceHosting

# A dirty tree ships from a snapshot commit kept under this ref, so the region copy holds what is built.
SNAPSHOT_REF = "refs/gantry/snapshot"


@dataclass(frozen=True)
class Source:
    sha: str  # the commit being shipped
    tag: str  # image tag: the SHA, or "<sha>-dirty.<hash>" for an explicitly allowed dirty tree
    tree: str  # what the build archives: the SHA, or a commit object holding the uncommitted changes
    dirty: bool


def _git(root: Path, *args: str) -> str:
    return git(*args, cwd=root, fix=f"is {root} a git repository with a commit?").strip()


def resolve(root: Path, allow_dirty: bool) -> Source:
    sha = _git(root, "rev-parse", "--verify", "HEAD^{commit}")
    changes = _git(root, "status", "--porcelain", "--untracked-files=no")
    if not changes:
        return Source(sha, sha, sha, dirty=False)
    if not allow_dirty:
        count = len(changes.splitlines())
        raise GantryError(
            f"the working tree has {count} uncommitted change(s): commit them, or pass "
            "--allow-dirty to ship them under a '-dirty' tag"
        )
    # `git stash create` makes a commit of the tracked changes without touching refs or the working tree.
    tree = _git(root, "stash", "create")
    _git(root, "update-ref", SNAPSHOT_REF, tree)
    digest = hashlib.sha256(_git(root, "diff", "HEAD").encode()).hexdigest()[:8]
    return Source(sha, f"{sha}-dirty.{digest}", tree, dirty=True)


def run(target: SourceHosting, root: Path, allow_dirty: bool) -> Source:
    source = resolve(root, allow_dirty)
    target.push_source(root, [source.sha, source.tree])
    return source


def of(record: RunRecord) -> Source:
    if record.sha is None or record.tag is None or record.tree is None:
        raise GantryError("this run has no source yet: run `gantry source` first")
    return Source(record.sha, record.tag, record.tree, record.dirty)
