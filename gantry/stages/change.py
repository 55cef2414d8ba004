"""What an approval of a protected target binds besides the image: the commits of the change since what the
target runs (who authored and committed each, and, where the customer keeps a committers' list, that each is
signed by its committer), that the commit is on the protected branch, and the task definition that will run it.

The same functions run when an approver signs (so they see what they approve) and when a deploy checks the
approval (so nothing changed in between): the release agent recomputes the change and the task definition from
the commit and what the target runs, and checks that the change starts at what runs (a signer cannot shrink it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from gantry import taskdef
from gantry.config import GantryConfig
from gantry.errors import ApprovalError, GantryError
from gantry.host import git
from gantry.host.git import Commit
from gantry.paths import project_root
from gantry.targets.base import Deploying, Gatekeeping, Release, Serving


class ChangeSource(Gatekeeping, Serving, Deploying, Protocol):
    """What a change is read from: the source copy's commits, what runs now, the task definition to run."""


@dataclass(frozen=True)
class Change:
    """A release into a protected environment, as the approver is shown it and the statement binds it."""

    release: Release
    since: str | None  # the commit the environment's first region runs now (None: nothing yet)
    commits: list[Commit]
    task_definition: str  # taskdef.fingerprint, the same in every region
    exceptions: list[str]  # the environment's task-definition exceptions

    @property
    def contributors(self) -> list[str]:
        """Every author and committer of the change (separation of duties excludes them all)."""
        return sorted({who.lower() for commit in self.commits for who in (commit.author, commit.committer)})


def commits(
    cfg: GantryConfig, target: Gatekeeping, sha: str, since: str | None, limit: int | None = None
) -> list[Commit]:
    """The commits of `since..sha` from the primary source copy; with approvals.committers_allowed_signers,
    each must carry a good signature by its committer's listed key, else ApprovalError naming the first."""
    signers = cfg.approvals.committers(project_root())
    found = target.commits(sha, since, signers, limit)
    if signers is not None:
        for commit in found:
            if commit.signature != "G" or commit.signer.lower() != commit.committer.lower():
                verdict = {"N": "unsigned", "B": "bad signature", "U": "signed by an unlisted key"}.get(
                    commit.signature, f"signature status {commit.signature or '?'} by {commit.signer or 'nobody'}"
                )
                raise ApprovalError(
                    f"commit {commit.sha[:12]} ({commit.subject[:50]!r}) is {verdict}: every commit must be signed by "
                    f"its committer ({commit.committer}) with a key in approvals.committers_allowed_signers"
                )
    return found


def checked_task_definitions(
    cfg: GantryConfig,
    target: Deploying,
    env: str,
    release: Release,
    regions: list[str],
    refused: type[GantryError] = ApprovalError,
) -> dict[str, dict[str, Any]]:
    """Each region's task definition for `release`, rendered from its commit, after the environment's
    task-definition policy accepted it; `refused` (nothing changed) when it does not."""
    allowed = set(cfg.environment(env).task_definition_exceptions)
    rendered = {}
    for region in regions:
        found = target.task_definition(env, region, release)
        problems = taskdef.check_policy(found, release.digest, allowed)
        if problems:
            raise refused(
                f"the task definition of {release.sha[:12]} for {env} breaks gantry's task-definition policy "
                f"({problems[0]}): nothing changed; remove it, or list the exception in "
                f"environments.{env}.task_definition_exceptions"
            )
        rendered[region] = found
    return rendered


def task_definition(cfg: GantryConfig, target: Deploying, env: str, release: Release, regions: list[str]) -> str:
    """The fingerprint of `release`'s task definition for `env`, the same in every region; ApprovalError when
    the policy refuses it or the regions differ."""
    found = {r: taskdef.fingerprint(d) for r, d in checked_task_definitions(cfg, target, env, release, regions).items()}
    if len(set(found.values())) > 1:
        raise ApprovalError(
            f"the task definitions of {env} differ between {' and '.join(found)} beyond their per-region fields: "
            "render one template for every region"
        )
    return next(iter(found.values()))


def on_protected_branch(cfg: GantryConfig, sha: str) -> None:
    """`sha` is on approvals.protected_branch of the repository gantry runs from (on Jenkins, the release
    agent's checkout of the trusted branch); ApprovalError otherwise."""
    root = project_root()
    branch = cfg.approvals.protected_branch
    try:
        git.git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=root)
    except GantryError:
        raise ApprovalError(
            f"{root} has no branch {branch} (approvals.protected_branch): production runs only commits on it"
        ) from None
    if not git.is_ancestor(root, sha, f"refs/heads/{branch}"):
        raise ApprovalError(
            f"{sha[:12]} is not on {branch} in {root}: production takes only commits merged to the protected branch"
        )


def covers_what_runs(target: Serving, env: str, sha: str, since: str | None, regions: list[str]) -> None:
    """A change from `since` to `sha` holds every commit between what each of `regions` runs now and `sha`
    (`since` is what a region runs, or an ancestor of it), so its contributors are all of them; ApprovalError
    otherwise. A signer cannot shrink the change they are checked against by naming a later `since`."""
    if since is None:
        return  # every commit up to the release: whatever a region runs, nothing of the change is left out
    root = project_root()
    for region in regions:
        current = target.current_release(env, region)
        if current is not None and current.sha == sha:
            continue  # this region runs the commit already: no commit of it is new here
        if current is None:
            raise ApprovalError(
                f"it approves the change since {since[:12]}, but {env} runs nothing in {region} yet: every "
                "commit up to the release is new there; ask for a new approval"
            )
        if since != current.sha and not git.is_ancestor(root, since, current.sha):
            raise ApprovalError(
                f"it approves the change since {since[:12] if since else 'the start'}, but {env} runs "
                f"{current.sha[:12]} in {region}: the change must start at what runs; ask for a new approval"
            )


def since_what_runs(target: Serving, env: str, release: Release, regions: list[str]) -> str | None:
    """Where the change `release` makes to `env` starts: the commit the regions run, or when they run different
    ones, the one every other descends from; None (the whole history) when a region runs nothing or no such
    commit exists; the release itself when every region runs its commit already (a rebuilt image)."""
    running = [target.current_release(env, region) for region in regions]
    if any(current is None for current in running):
        return None
    others = sorted({current.sha for current in running if current is not None and current.sha != release.sha})
    if not others:
        return release.sha
    root = project_root()
    return next((c for c in others if all(c == o or git.is_ancestor(root, c, o) for o in others)), None)


def of(cfg: GantryConfig, target: ChangeSource, env: str, release: Release, regions: list[str]) -> Change:
    """The change `release` makes to `env`: every commit since what its regions run, up to `release`, checked."""
    since = since_what_runs(target, env, release, regions)
    found = [] if since == release.sha else commits(cfg, target, release.sha, since)
    return Change(
        release=release,
        since=since,
        commits=found,
        task_definition=task_definition(cfg, target, env, release, regions),
        exceptions=sorted(cfg.environment(env).task_definition_exceptions),
    )
