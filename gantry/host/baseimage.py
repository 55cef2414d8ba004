"""The minimal Debian base image, made on this machine: pulled from a configured upstream, else built from
Debian's archive with debootstrap and imported into the container engine (no registry needed).

The root filesystem is cached as a tarball (it survives `gantry down`); making it twice at once is serialised
by a lock, and an interrupted run leaves nothing a later run trips over: the tarball is renamed into place
only when complete, and scratch directories of dead runs are removed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docker import DockerClient
from docker.models.images import Image
from filelock import FileLock

from gantry.errors import EngineError, GantryError
from gantry.host import images, podman
from gantry.paths import cache_dir

DEFAULT_NAME = "localhost/gantry/debian-base:bookworm"
SCRATCH_PREFIX = ".debootstrap-"


@dataclass(frozen=True)
class BaseImageSpec:
    name: str
    suite: str = "bookworm"
    mirror: str | None = None
    upstream: str | None = None
    # True for an image made elsewhere (gantry bake): it must exist, it is never made here.
    prebuilt: bool = False


def apt_mirror() -> str:
    """The Debian mirror this machine's apt uses (the one known to be reachable from here)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.is_file() and (match := re.search(r"^URIs:\s*(\S+/debian)/?\s*$", sources.read_text(), re.M)):
        return match.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file() and (match := re.search(r"^deb\s+(\S+/debian)/?\s", legacy.read_text(), re.M)):
        return match.group(1)
    return "http://deb.debian.org/debian"


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo", "-n"]


def _remove_stale_scratch(directory: Path) -> None:
    for stale in directory.glob(f"{SCRATCH_PREFIX}*"):
        subprocess.run([*_sudo(), "rm", "-rf", str(stale)], capture_output=True)


def _debootstrap_failure(output: str, mirror: str) -> GantryError:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    last = lines[-1][:200] if lines else "no output"
    if re.search(r"Failed getting release file|Couldn't download|Temporary failure|Connection refused", output):
        return GantryError(
            f"debootstrap cannot download from {mirror} ({last}): set local.base_image.mirror to a reachable "
            f"Debian mirror (this machine's apt uses {apt_mirror()})"
        )
    if "No space left" in output:
        return GantryError(f"debootstrap ran out of disk space under {cache_dir()}: free some space and rerun")
    return GantryError(f"debootstrap failed ({last}): check that this user may run debootstrap (root or sudo)")


def rootfs_tarball(suite: str, mirror: str, note: Callable[[str], None]) -> Path:
    """debootstrap once, then reuse the cached tarball."""
    directory = cache_dir()
    tarball = directory / f"rootfs-{suite}.tar"
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory / f"rootfs-{suite}.lock"), timeout=900):
        if tarball.is_file():
            return tarball
        _remove_stale_scratch(directory)
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        if not Path(debootstrap).exists():
            raise GantryError("debootstrap is not installed: run `make bootstrap`")
        scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=directory))
        try:
            rootfs = scratch / "rootfs"
            note(f"debootstrap {suite} from {mirror} (about 30 s)")
            result = subprocess.run(
                [*_sudo(), debootstrap, "--variant=minbase", suite, str(rootfs), mirror],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise _debootstrap_failure(result.stdout + result.stderr, mirror)
            partial = scratch / "rootfs.tar"
            packed = subprocess.run(
                [*_sudo(), "tar", "-C", str(rootfs), "-cf", str(partial), "."], capture_output=True, text=True
            )
            if packed.returncode != 0:
                raise _debootstrap_failure(packed.stderr, mirror)
            partial.replace(tarball)
        finally:
            subprocess.run([*_sudo(), "rm", "-rf", str(scratch)], capture_output=True)
    return tarball


def _store_fix() -> str:
    store = podman.store_dir()
    return f"check free disk space (`df -h {store.parent}`) and rerun `make demo`"


def ensure(client: DockerClient, spec: BaseImageSpec, note: Callable[[str], None]) -> Image:
    """The base image in the engine's store under exactly `spec.name`, made if missing."""
    if (image := images.find(client, spec.name)) is not None:
        return image
    if spec.prebuilt:
        raise GantryError(f"base image {spec.name} not found: run `gantry bake --target container`")
    if spec.upstream:
        note(f"pulling {spec.upstream}")
        pulled = images.pull(client, spec.upstream, fix="check local.base_image.upstream and the registry")
        return images.tag(client, pulled, spec.name, fix=_store_fix())
    tarball = rootfs_tarball(spec.suite, spec.mirror or apt_mirror(), note)
    note("importing the root filesystem")
    try:
        return images.import_rootfs(client, tarball, spec.name, fix=_store_fix())
    except EngineError as exc:
        if "no space left" in str(exc).lower():
            raise EngineError(f"the image store ran out of disk space importing {spec.name}: {_store_fix()}") from None
        raise
