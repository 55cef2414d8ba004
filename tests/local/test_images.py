"""The first-run image path against the real engine, each test with an image store of its own (GANTRY_CACHE in
a temporary directory, so `.cache/containers` under it) and a podman service of its own (GANTRY_HOME):
exact names after an import, and the faults a new machine meets: an unreachable Debian mirror, a full disk
while importing, an interrupted debootstrap. Each ends in one line naming the fix, and the next run recovers
without manual cleaning."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_stack import GANTRY, ROOT, wait_for

from gantry.host import baseimage, engine, images, podman

pytestmark = pytest.mark.integration
MAIN_TARBALL = ROOT / ".cache" / "rootfs-bookworm.tar"  # debootstrap's result, cached by earlier suites


@pytest.fixture
def private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Environment for a gantry (and podman) with an empty store and run directory of their own."""
    cache, home = tmp_path / "cache", tmp_path / "home"
    cache.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GANTRY_", "DOCKER_HOST", "CONTAINERS_"))}
    env.update(GANTRY_CACHE=str(cache), GANTRY_HOME=str(home), GANTRY_ROOT=str(ROOT))
    for key, value in (("GANTRY_CACHE", str(cache)), ("GANTRY_HOME", str(home))):
        monkeypatch.setenv(key, value)
    for key in ("DOCKER_HOST", podman.STORAGE_CONF):
        monkeypatch.delenv(key, raising=False)
    env.update(podman.environment())
    yield env
    subprocess.run([str(GANTRY), "down"], env=env, capture_output=True)
    subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "gantry.host.podman", "remove-store"], env=env)


def base_image(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GANTRY), "base-image", "--local-only", *args], env=env, capture_output=True, text=True, timeout=900
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_an_import_keeps_its_exact_name(private: dict[str, str], tmp_path: Path) -> None:
    """Debian 12's podman drops the tag of a compat-API import; the image must still be found by its name."""
    tarball = tmp_path / "tiny.tar"
    with tarfile.open(tarball, "w") as tar:
        data = b"gantry\n"
        info = tarfile.TarInfo("etc/gantry-test")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    client = engine.connect({})
    image = images.import_rootfs(client, tarball, "localhost/gantry-test/tiny:v1", fix="the test")
    assert images.find(client, "localhost/gantry-test/tiny:v1") is not None
    assert image.id == images.find(client, "localhost/gantry-test/tiny:v1").id  # type: ignore[union-attr]
    assert images.find(client, "localhost/gantry-test/tiny:latest") is None  # no stray name left behind


def test_an_unreachable_mirror_is_one_line_and_leaves_nothing(private: dict[str, str]) -> None:
    result = base_image(private, "--mirror", "http://127.0.0.1:9/debian")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result)
    assert "debootstrap cannot download from http://127.0.0.1:9/debian" in line and "local.base_image.mirror" in line
    cache = Path(private["GANTRY_CACHE"])
    assert not list(cache.glob(f"{baseimage.SCRATCH_PREFIX}*")) and not (cache / "rootfs-bookworm.tar").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs as the image store needs root")
@pytest.mark.skipif(not MAIN_TARBALL.is_file(), reason=f"{MAIN_TARBALL} is made by `make demo`/setup-ansible first")
def test_a_full_disk_while_importing_then_the_next_run_recovers(private: dict[str, str]) -> None:
    cache = Path(private["GANTRY_CACHE"])
    shutil.copy(MAIN_TARBALL, cache / "rootfs-bookworm.tar")  # the debootstrap result: only the import is tried
    store = cache / "containers" / "storage"
    store.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(store)], check=True)
    try:
        full = base_image(private)
        assert full.returncode == 1, full.stderr
        (line,) = error_lines(full)
        assert "ran out of disk space" in line and "df -h" in line, line
        # Space is freed (the same store, its half-written layers still in it): the next run completes.
        subprocess.run(["mount", "-o", "remount,size=2g", str(store)], check=True)
        again = base_image(private)
        assert again.returncode == 0, again.stderr
        assert baseimage.DEFAULT_NAME in again.stdout
    finally:
        subprocess.run([str(GANTRY), "down"], env=private, capture_output=True)
        subprocess.run(["umount", "--lazy", str(store)], capture_output=True)


def test_an_interrupted_debootstrap_is_cleaned_up_by_the_next_run(private: dict[str, str]) -> None:
    """SIGKILL in the middle of debootstrap leaves its scratch directory and lock file; the next run must not
    trip over either (the lock is an flock, released with the process)."""
    cache = Path(private["GANTRY_CACHE"])
    started = subprocess.Popen(
        [str(GANTRY), "base-image", "--local-only"],
        env=private,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(lambda: bool(list(cache.glob(f"{baseimage.SCRATCH_PREFIX}*/rootfs/usr"))), 120, "debootstrap at work")
    time.sleep(2)
    os.killpg(started.pid, signal.SIGKILL)
    started.wait(10)
    assert list(cache.glob(f"{baseimage.SCRATCH_PREFIX}*")), "the kill left no scratch directory to clean up"
    again = base_image(private)
    assert again.returncode == 0, again.stderr
    assert not list(cache.glob(f"{baseimage.SCRATCH_PREFIX}*"))
    assert (cache / "rootfs-bookworm.tar").is_file()
