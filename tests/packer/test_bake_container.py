"""The local container bake, for real: Packer's docker builder driving podman runs the
golden-image playbook on the Debian base, and the resulting image is inspected."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gantry.bake import packer
from gantry.errors import GantryError
from gantry.host import podman as podman_config

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "localhost/gantry/debian-base:bookworm"
GOLDEN_IMAGE = "localhost/gantry/golden-base:bookworm"
PLAYBOOK = REPO / "ansible" / "playbooks" / "golden-image.yml"

pytestmark = pytest.mark.integration


BAKED_FROM: dict[str, str] = {}


def head() -> str:
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False)
    return sha.stdout.strip() or "unknown"


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = podman_config.cli_environment()
    return subprocess.run(["podman", *args], env=env, capture_output=True, text=True, check=check, timeout=300)


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Runs `gantry bake --target container` once; yields (printed line, bake log)."""
    if shutil.which("podman") is None:
        pytest.skip("podman not installed: run scripts/setup-packer.sh")
    try:
        packer.packer_binary()
    except GantryError as exc:
        pytest.skip(f"{exc} (scripts/setup-packer.sh builds it; make test runs that first)")
    if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        pytest.skip(f"{BASE_IMAGE} missing: run `gantry base-image` (scripts/setup-ansible.sh also builds it)")
    if not PLAYBOOK.is_file():
        pytest.skip(f"{PLAYBOOK} not present: the Ansible golden-image playbook (issue: Ansible roles) is missing")
    home = tmp_path_factory.mktemp("bake")
    BAKED_FROM["before"] = head()
    env = {**os.environ, "GANTRY_HOME": str(home), "GANTRY_ROOT": str(REPO)}
    command = [
        sys.executable,
        "-c",
        "from gantry.bake.cli import bake; bake(prog_name='gantry bake')",
        "--target",
        "container",
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=1800, cwd=REPO)
    log = home / "packer" / "build-container.log"
    log_text = log.read_text() if log.is_file() else ""
    assert result.returncode == 0, f"bake failed:\n{result.stderr[-3000:]}\n{log_text[-6000:]}"
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"stdout must carry only the result (Packer's output goes to stderr): {lines[:5]}"
    yield lines[0], log_text


def run_in_image(script: str) -> subprocess.CompletedProcess[str]:
    return podman("run", "--rm", "--network=none", "--entrypoint=/bin/sh", GOLDEN_IMAGE, "-c", script, check=False)


def test_bake_prints_the_image_and_its_id(baked: tuple[str, str]) -> None:
    line, _ = baked
    ref, image_id = line.split("\t")
    assert ref == GOLDEN_IMAGE
    assert image_id == "sha256:" + podman("image", "inspect", "--format", "{{.Id}}", GOLDEN_IMAGE).stdout.strip()


def test_playbook_ran_in_container_mode(baked: tuple[str, str]) -> None:
    _, log = baked
    assert "golden_image_kind=container" in log
    assert "failed=0" in log


def test_node_exporter_is_installed(baked: tuple[str, str]) -> None:
    result = run_in_image(
        "for b in prometheus-node-exporter node_exporter; do"
        " command -v $b >/dev/null && exec $b --version; done; exit 1"
    )
    assert result.returncode == 0, result.stderr
    assert "node_exporter" in (result.stdout + result.stderr)


def test_hardening_settings_applied(baked: tuple[str, str]) -> None:
    """The container flavour of the common role: no remote-login tools, restrictive umask, no daemons."""
    login_defs = run_in_image("grep -E '^UMASK' /etc/login.defs").stdout
    assert login_defs.split()[-1] == "027"
    for package in ("telnet", "rsh-client", "ftp", "openssh-server"):
        # dpkg -s exits 1 for a package it does not know; any other code means the check itself did not run.
        assert run_in_image(f"dpkg -s {package} >/dev/null 2>&1").returncode == 1, f"{package} is installed"
    assert run_in_image("test -e /usr/sbin/sshd").returncode == 1
    # Maintainer scripts run in derived images (services/cart/Dockerfile's apt-get) must not start daemons.
    assert run_in_image("/usr/sbin/policy-rc.d").returncode == 101


def test_no_ssh_host_keys_and_no_build_leftovers(baked: tuple[str, str]) -> None:
    # Each check prints END last, so a container that did not run at all cannot pass as "nothing found".
    assert run_in_image("ls /etc/ssh/ssh_host_* 2>/dev/null; echo END").stdout == "END\n"
    assert run_in_image("ls /var/lib/apt/lists | grep -v -e '^lock$' -e '^partial$'; echo END").stdout == "END\n"
    assert run_in_image("ls -A /tmp /root/.ansible 2>/dev/null; echo END").stdout.strip() in ("END", "/tmp:\nEND")
    assert run_in_image("test -s /etc/machine-id").returncode == 1


def test_image_config_is_usable_as_a_base(baked: tuple[str, str]) -> None:
    config = json.loads(podman("image", "inspect", GOLDEN_IMAGE).stdout)[0]["Config"]
    assert not config.get("Entrypoint"), "the builder's /bin/sh entrypoint leaked into the image"
    assert config.get("Cmd") == ["/bin/bash"]
    # HEAD may move while the bake runs (commits in the same work tree): either side of the bake is right.
    assert config["Labels"]["org.opencontainers.image.revision"] in {BAKED_FROM["before"], head()}
    assert config["Labels"]["org.opencontainers.image.base.name"] == BASE_IMAGE
