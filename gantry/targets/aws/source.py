"""CodeCommit source copies: push every ref to the primary region, mirror it to the secondary, verify refs.

Against real AWS the git URL is the repository's HTTPS clone URL with the AWS CLI credential helper (so
no long-lived git credentials exist). moto answers the CodeCommit API (create/get repository) but runs no
git server, so tests set `source_url` to bare repositories on disk: the git side is real git, the
CodeCommit side is the API lookup only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gantry.errors import GantryError
from gantry.host.git import git as host_git
from gantry.names import check_sha
from gantry.targets.aws.clients import Clients, aws_errors
from gantry.targets.aws.settings import AwsRegionSettings

REFSPECS = ["refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*", "refs/gantry/*:refs/gantry/*"]
# Where each commit a run builds is kept in the source copies: Jenkins builds a detached HEAD, and a build of
# uncommitted changes is a snapshot commit no branch holds; without a ref of their own neither would be pushed.
BUILDS = "refs/gantry/builds/"
CODECOMMIT_AUTH = [
    "-c",
    "credential.helper=",
    "-c",
    "credential.helper=!aws codecommit credential-helper $@",
    "-c",
    "credential.UseHttpPath=true",
]


def git(*args: str, cwd: Path | None = None) -> str:
    return host_git(*args, cwd=cwd, config=CODECOMMIT_AUTH, fix="check the CodeCommit repository and credentials")


class SourceCopies:
    def __init__(self, clients: Clients, regions: dict[str, AwsRegionSettings]) -> None:
        self.clients = clients
        self.regions = regions

    def url(self, region: str) -> str:
        settings = self.regions[region]
        with aws_errors(f"CodeCommit repository {settings.source_repository} in {region}", "apply the stack"):
            meta = self.clients("codecommit", region).get_repository(repositoryName=settings.source_repository)
        return settings.source_url or str(meta["repositoryMetadata"]["cloneUrlHttp"])

    @staticmethod
    def refs(url: str) -> dict[str, str]:
        lines = git("ls-remote", url).splitlines()
        found = {ref: sha for sha, ref in (line.split("\t", 1) for line in lines if "\t" in line)}
        return {ref: sha for ref, sha in found.items() if ref.startswith(("refs/heads/", "refs/tags/", "refs/gantry/"))}

    def push(self, repo: Path, region: str, commits: list[str]) -> None:
        """Every branch and tag, and each of `commits` under refs/gantry/builds/<sha>."""
        # No --force: the source copy only ever moves forward; a rewritten branch must be fixed by a person.
        keep = [f"{check_sha(sha)}:{BUILDS}{sha}" for sha in dict.fromkeys(commits)]
        git("push", "--porcelain", self.url(region), REFSPECS[0], REFSPECS[1], *keep, cwd=repo)

    def mirror(self, source: str, destination: str) -> dict[str, str]:
        src, dst = self.url(source), self.url(destination)
        with tempfile.TemporaryDirectory(prefix="gantry-aws-mirror-") as tmp:
            git("clone", "--quiet", "--mirror", src, tmp)
            # --prune: the secondary is an exact copy, so refs deleted in the primary go there too.
            git("push", "--porcelain", "--prune", dst, *REFSPECS, cwd=Path(tmp))
        expected, actual = self.refs(src), self.refs(dst)
        if expected != actual:
            diff = sorted(set(expected.items()) ^ set(actual.items()))
            raise GantryError(f"source copies differ after mirroring {source} -> {destination}: {diff[:3]}")
        return expected
