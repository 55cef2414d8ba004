"""The one way gantry runs git: argument lists (never a shell), captured output, one-line errors.

Revisions reach git only as full commit ids (gantry.names.check_sha) and always after `--end-of-options`, so
a value read from a record or a parameter can never be taken for an option (`--output=FILE`)."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from gantry.errors import GantryError
from gantry.names import check_sha


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


FOLDER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


def archive(repo: Path, tree: str, folder: str) -> bytes:
    """A tar of `folder` exactly as committed in `tree`, rooted at that folder (what the image build receives as
    its context)."""
    if not FOLDER.fullmatch(folder) or ".." in folder.split("/"):
        raise GantryError(f"build context {folder!r} is not a folder of the repository: name one like services/<name>")
    result = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", "--end-of-options", f"{check_sha(tree)}:{folder}"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise GantryError(
            f"cannot archive {tree[:12]} from {repo}: {result.stderr.decode(errors='replace').strip()[:200]}: "
            "run `gantry source` so the region's source copy has the commit"
        )
    return result.stdout


@dataclass(frozen=True)
class Commit:
    """One commit of a change, as separation of duties and the approver's summary need it."""

    sha: str
    author: str  # e-mail addresses
    committer: str
    subject: str
    # git's signature verdict (%G?: G good, B bad, U unknown validity, N none...) and the signer it names (%GS),
    # against the committers' allowed signers; "" when no list was given.
    signature: str = ""
    signer: str = ""


SEPARATOR = "\x1f"


def commits(
    repo: Path, sha: str, since: str | None, signers: str | None = None, limit: int | None = None
) -> list[Commit]:
    """The commits of `since..sha` (every ancestor of `sha` when `since` is None), newest first, at most `limit`.
    With `signers` (an allowed-signers list), each commit's SSH signature is verified against it."""
    span = f"{check_sha(since)}..{check_sha(sha)}" if since else check_sha(sha)
    fields = SEPARATOR.join(["%H", "%ae", "%ce", "%G?", "%GS", "%s"])
    with tempfile.TemporaryDirectory(prefix="gantry-signers-") as scratch:
        config: list[str] = []
        if signers is not None:
            allowed = Path(scratch) / "allowed_signers"
            allowed.write_text(signers)
            config = ["-c", f"gpg.ssh.allowedSignersFile={allowed}"]
        output = git(
            "log", f"--format={fields}", *([f"--max-count={limit}"] if limit else []), "--end-of-options", span, "--",
            cwd=repo, config=config,
            fix="run `gantry source` so the region's source copy has every commit of the change",
        )  # fmt: skip
    found = []
    for line in output.splitlines():
        sha_, author, committer, verdict, signer, subject = line.split(SEPARATOR, 5)
        found.append(
            Commit(sha_, author, committer, subject[:120], verdict if signers else "", signer if signers else "")
        )
    return found


def is_ancestor(repo: Path, sha: str, ref: str) -> bool:
    """`sha` is `ref` or an ancestor of it in `repo`."""
    result = subprocess.run(
        ["git", "-C", str(repo), "merge-base", "--is-ancestor", "--end-of-options", check_sha(sha), ref],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def show(repo: Path, sha: str, path: str) -> str:
    """The text of `path` exactly as committed in `sha`; GantryError naming the fix when it is not there."""
    result = subprocess.run(
        ["git", "-C", str(repo), "show", "--end-of-options", f"{check_sha(sha)}:{path}"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise GantryError(
            f"{path} is not in commit {sha[:12]} of {repo}: commit it (service settings name it), or run "
            "`gantry source` so the region's source copy has the commit"
        )
    return result.stdout.decode(errors="replace")
