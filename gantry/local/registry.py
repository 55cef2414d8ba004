"""Talking to the local OCI registries: manifest digests over the Registry HTTP API, copies with skopeo."""

from __future__ import annotations

import shutil
import subprocess

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from gantry.errors import GantryError

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class RegistryUnavailable(GantryError):
    pass


@retry(
    retry=retry_if_exception_type(RegistryUnavailable),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.5, max=4),
    reraise=True,
)
def manifest_digest(host: str, repository: str, reference: str) -> str | None:
    """The manifest digest the registry at `host` serves for `reference` (tag or digest), or None."""
    url = f"http://{host}/v2/{repository}/manifests/{reference}"
    try:
        response = requests.head(url, headers={"Accept": MANIFEST_TYPES}, timeout=10)
    except requests.RequestException:
        raise RegistryUnavailable(f"registry {host} does not answer: run `gantry up` (or `gantry status`)") from None
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise GantryError(f"registry {host} answered HTTP {response.status_code} for {repository}:{reference}")
    return response.headers.get("Docker-Content-Digest")


def copy(source: str, destination: str, env: dict[str, str]) -> None:
    """Copy an image between the plain-HTTP loopback registries, keeping its manifest byte for byte."""
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        raise GantryError("skopeo is not installed: run `make bootstrap`")
    result = subprocess.run(
        [
            skopeo,
            "copy",
            "--quiet",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--retry-times",
            "2",
            f"docker://{source}",
            f"docker://{destination}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GantryError(f"replicating {source} to {destination} failed: {last[:300]}: check `gantry status`")
