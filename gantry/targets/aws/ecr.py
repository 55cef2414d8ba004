"""ECR: push an image by digest to the primary region, then wait until replication put it in the other.

The layer upload itself is one small injectable step (ImagePusher). The default, SkopeoPusher, copies the
locally built image to the ECR registry URL with an ECR authorization token; it needs a real registry, so it
is only exercised against real AWS. Everything around it (repository lookup, digest verification, the
replication wait and its timeout) uses the ECR API and is tested against moto, whose ECR has no registry
endpoint for blobs (tests push with put_image instead).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from gantry.errors import GantryError
from gantry.host import podman
from gantry.targets.aws.clients import Clients, aws_errors, error_code

DIGEST_PREFIX = "sha256:"


class ImagePusher(Protocol):
    def push(self, local_image: str, repository_uri: str, tag: str) -> str:
        """Upload `local_image` as `<repository_uri>:<tag>`; return the manifest digest stored."""


class SkopeoPusher:
    """`skopeo copy` to ECR with a 12-hour ECR token in a private (0600) temporary auth file, never on the
    command line where other users could read it, and --digestfile to learn the digest the registry stored.

    With `endpoints` (tests against a local AWS API only) a registry host is pushed to at its stand-in on
    127.0.0.1 instead, in plain HTTP and without a token: registries.conf rewrites pulls, not pushes."""

    def __init__(
        self, clients: Clients, region: str, source_transport: str, endpoints: Mapping[str, str] | None = None
    ) -> None:
        self.clients = clients
        self.region = region
        self.source_transport = source_transport
        self.endpoints = dict(endpoints or {})

    def _write_authfile(self, path: Path, registry: str) -> None:
        _registry, user, password = Ecr(self.clients, "").credentials(self.region)
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"auths": {registry: {"auth": token}}}, handle)

    def push(self, local_image: str, repository_uri: str, tag: str) -> str:
        registry, _, path = repository_uri.partition("/")
        stand_in = self.endpoints.get(registry)
        with tempfile.TemporaryDirectory(prefix="gantry-aws-push-") as tmp:
            digest_file = Path(tmp) / "digest"
            if stand_in is None:
                authfile = Path(tmp) / "auth.json"
                self._write_authfile(authfile, registry)
                destination = ["--dest-authfile", str(authfile), f"docker://{repository_uri}:{tag}"]
            else:
                destination = ["--dest-tls-verify=false", f"docker://{stand_in}/{path}:{tag}"]
            result = subprocess.run(
                [
                    "skopeo",
                    "copy",
                    "--quiet",
                    "--retry-times",
                    "3",
                    "--digestfile",
                    str(digest_file),
                    f"{self.source_transport}:{local_image}",
                    *destination,
                ],
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
                env=podman.cli_environment(),
            )
            if result.returncode != 0:
                last = (result.stderr.strip().splitlines() or ["no output"])[-1][:300]
                raise GantryError(f"skopeo push to {repository_uri}:{tag} failed: {last}: check the image exists")
            return digest_file.read_text().strip()


class Ecr:
    def __init__(self, clients: Clients, repository: str) -> None:
        self.clients = clients
        self.repository = repository

    def credentials(self, region: str) -> tuple[str, str, str]:
        """(registry, user, password) from a 12-hour ECR authorization token; never logged."""
        with aws_errors(f"ECR authorization in {region}"):
            data = self.clients("ecr", region).get_authorization_token()["authorizationData"][0]
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        return str(data["proxyEndpoint"]).removeprefix("https://"), user, password

    def repository_uri(self, region: str) -> str:
        with aws_errors(f"ECR repository '{self.repository}' in {region}", "apply the Terraform stack"):
            repos = self.clients("ecr", region).describe_repositories(repositoryNames=[self.repository])
        uri: str = repos["repositories"][0]["repositoryUri"]
        return uri

    def find(self, region: str, *, digest: str | None = None, tag: str | None = None) -> dict[str, Any] | None:
        """The image's details, or None when the region does not hold it."""
        image_id = {"imageDigest": digest} if digest else {"imageTag": tag}
        with aws_errors(f"ECR describe_images in {region}"):
            try:
                found = self.clients("ecr", region).describe_images(repositoryName=self.repository, imageIds=[image_id])
            except ClientError as exc:
                if error_code(exc) == "ImageNotFoundException":
                    return None
                raise
        details: list[dict[str, Any]] = found.get("imageDetails", [])
        return details[0] if details else None

    def verify(self, region: str, tag: str, digest: str, settle: float = 30, poll: float = 1) -> None:
        """The tag in `region` must name exactly `digest` (a pusher that reports something else is a bug or
        a race with another push). The API may show a push a moment late (AWS read-after-write consistency
        is eventual), so a missing tag is looked up again for up to `settle` seconds."""
        deadline = time.monotonic() + settle
        image = self.find(region, tag=tag)
        while image is None and time.monotonic() < deadline:
            time.sleep(poll)
            image = self.find(region, tag=tag)
        if image is None:
            raise GantryError(f"ECR {region} has no image tagged {tag} {settle:g} s after the push: re-run gantry push")
        if image["imageDigest"] != digest:
            raise GantryError(
                f"digest mismatch in {region}: {tag} is {image['imageDigest']}, pushed {digest}: "
                "tags must be immutable (imageTagMutability=IMMUTABLE); re-run gantry build and push"
            )

    def wait_for(self, region: str, tag: str, digest: str, timeout: float, poll: float) -> float:
        """Wait until `region` holds `digest` (ECR replication is asynchronous); returns seconds waited."""
        started = time.monotonic()
        while True:
            if self.find(region, digest=digest) is not None:
                return time.monotonic() - started
            other = self.find(region, tag=tag)
            if other is not None and other["imageDigest"] != digest:
                raise GantryError(
                    f"digest mismatch in {region}: {tag} is {other['imageDigest']}, expected {digest}: "
                    "the replica is a different image; check who pushes to that repository"
                )
            if time.monotonic() - started >= timeout:
                raise GantryError(
                    f"image {digest[:19]} did not replicate to {region} within {timeout:g}s: check the ECR "
                    "replication configuration (describe_registry) and re-run gantry push"
                )
            time.sleep(poll)

    def replicates_to(self, region: str, destination: str) -> bool:
        with aws_errors(f"ECR describe_registry in {region}"):
            registry = self.clients("ecr", region).describe_registry()
        rules = registry.get("replicationConfiguration", {}).get("rules", [])
        return any(d.get("region") == destination for rule in rules for d in rule.get("destinations", []))
