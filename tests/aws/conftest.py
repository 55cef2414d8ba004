"""Fixtures for the aws target: one moto server process per session, reset before every test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The helpers module sits next to this file (no __init__.py in tests/, per the project layout).
sys.path.insert(0, str(Path(__file__).parent))
from aws_stack import (
    APPROVERS,
    PRIMARY,
    SECONDARY,
    AcceptedWaiter,
    ApiPusher,
    VersionServer,
    moto_server,
    provision,
    replicate,
    reset,
    source_commit,
)

from gantry.config import GantryConfig
from gantry.host import sshsig
from gantry.targets.aws.target import AwsTarget
from gantry.targets.base import Release


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def version_servers() -> Iterator[dict[tuple[str, str], VersionServer]]:
    servers = {
        key: VersionServer(*key) for key in ((PRIMARY, "staging"), (PRIMARY, "production"), (SECONDARY, "production"))
    }
    yield servers
    for server in servers.values():
        server.close()


@dataclass
class Stack:
    url: str
    raw: dict[str, Any]
    versions: dict[tuple[str, str], VersionServer]
    tmp: Path
    keys: dict[str, Path]
    sha: str  # a commit in the primary source copy holding the task definition template (what releases ship)

    def config(self, **aws: Any) -> GantryConfig:
        raw = {**self.raw, "aws": {**self.raw["aws"], **aws}}
        return GantryConfig.model_validate(raw)

    def new_commit(self, message: str) -> str:
        """Another commit of the service (its template unchanged), in the primary source copy."""
        work = self.tmp / "source-work"
        identity = ["-c", "user.email=dev@example.com", "-c", "user.name=dev"]
        subprocess.run(["git", "-C", str(work), *identity, "commit", "-qm", message, "--allow-empty"], check=True)
        return source_commit(self.tmp, Path(self.raw["aws"]["regions"][PRIMARY]["source_url"]))

    def target(self, cfg: GantryConfig | None = None, **kwargs: Any) -> AwsTarget:
        kwargs.setdefault("pusher", ApiPusher(self.url))
        return AwsTarget(cfg or self.config(), **kwargs)

    def deployed(
        self, cfg: GantryConfig | None = None, regions: tuple[str, ...] = (PRIMARY, SECONDARY)
    ) -> tuple[AwsTarget, Release]:
        """A target with one release in production in `regions` (its /version stand-ins serve it)."""
        pusher = ApiPusher(self.url, seed="dr")
        target = self.target(cfg, pusher=pusher, waiter=AcceptedWaiter())
        replicate(self.url, "dr", pusher.manifest)
        release = Release(self.sha, target.publish("localhost/gantry/cart:dr", "dr").digest)
        for region in regions:
            target.deploy_region("production", region, release, target.task_definition("production", region, release))
            self.versions[(region, "production")].body.update(digest=release.digest, sha=release.sha)
        return target, release


@pytest.fixture(scope="session")
def approver_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """SSH keys of the test approvers; the stack's approval policy lists them."""
    directory = tmp_path_factory.mktemp("approvers")
    keys = {who: directory / who.split("@")[0] for who in APPROVERS}
    for who, key in keys.items():
        sshsig.generate(key, who)
    return keys


@pytest.fixture
def stack(
    moto_url: str,
    version_servers: dict[tuple[str, str], VersionServer],
    approver_keys: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Stack:
    reset(moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("GANTRY_HOME", str(tmp_path / "home"))
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    urls = {key: server.url for key, server in version_servers.items()}
    signers = "".join(
        sshsig.allowed_signer_line(who, key.with_name(key.name + ".pub").read_text())
        for who, key in approver_keys.items()
    )
    raw = provision(moto_url, urls, tmp_path, signers)
    sha = source_commit(tmp_path, Path(raw["aws"]["regions"][PRIMARY]["source_url"]))
    # The checkout gantry runs from is the service's, whose main branch holds the commits the tests ship.
    monkeypatch.setenv("GANTRY_ROOT", str(tmp_path / "source-work"))
    return Stack(moto_url, raw, version_servers, tmp_path, approver_keys, sha)
