"""Source stage on a real temporary git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gantry.errors import GantryError
from gantry.stages.source import resolve


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "t@example.invalid")
    git(path, "config", "user.name", "t")
    (path / "app.txt").write_text("v1\n")
    git(path, "add", ".")
    git(path, "commit", "-qm", "v1")
    return path


def test_clean_tree_ships_head(repo: Path) -> None:
    found = resolve(repo, allow_dirty=False)
    assert found.sha == git(repo, "rev-parse", "HEAD") == found.tag == found.tree
    assert not found.dirty


def test_dirty_tree_is_refused_unless_allowed(repo: Path) -> None:
    (repo / "app.txt").write_text("v2\n")
    with pytest.raises(GantryError, match=r"1 uncommitted change.*--allow-dirty"):
        resolve(repo, allow_dirty=False)
    found = resolve(repo, allow_dirty=True)
    assert found.dirty and found.tag.startswith(found.sha + "-dirty.")
    # The tree object holds the change without touching refs or the working tree.
    assert git(repo, "show", f"{found.tree}:app.txt") == "v2"
    assert git(repo, "stash", "list") == ""


def test_untracked_files_do_not_make_a_tree_dirty(repo: Path) -> None:
    (repo / "notes.txt").write_text("scratch\n")
    assert not resolve(repo, allow_dirty=False).dirty


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GantryError, match=r"is .* a git repository with a commit"):
        resolve(tmp_path, allow_dirty=False)
