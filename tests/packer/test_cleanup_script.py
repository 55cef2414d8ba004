"""packer/scripts/cleanup.sh in AMI mode, run for real in a throwaway container of the Debian base.

Amazon Linux is not available here, so its tools (cloud-init, systemctl, journalctl, dnf) are stubs that
record their arguments; the files the script must remove are planted first."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gantry.host import podman

SCRIPTS = Path(__file__).resolve().parents[2] / "packer" / "scripts"
BASE_IMAGE = "localhost/gantry/debian-base:bookworm"

pytestmark = pytest.mark.integration

PLANT = """
set -e
mkdir -p /stubs /etc/ssh /home/ec2-user/.ssh /root/.ssh /var/lib/ecs/data /var/log/amazon
for tool in cloud-init systemctl journalctl; do
  printf '#!/bin/sh\\necho "%s $*" >> /stub-calls\\n' "$tool" > /stubs/$tool; chmod +x /stubs/$tool
done
touch /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_ed25519_key.pub /home/ec2-user/.ssh/authorized_keys
touch /root/.ssh/authorized_keys /var/lib/ecs/data/agent.db /var/log/messages.1 /tmp/build-leftover
echo build-log > /var/log/amazon/ecs-init.log
echo 0123456789abcdef > /etc/machine-id
PATH=/stubs:$PATH GOLDEN_IMAGE_KIND=ami sh /scripts/cleanup.sh
"""

CHECK = """
ls /etc/ssh/ssh_host_* /home/ec2-user/.ssh/authorized_keys /root/.ssh/authorized_keys /var/lib/ecs/data/agent.db \
   /var/log/messages.1 /tmp/build-leftover 2>/dev/null | sed 's/^/LEFT /'
echo "LOGSIZE $(wc -c < /var/log/amazon/ecs-init.log)"
echo "MACHINEID $(wc -c < /etc/machine-id)"
cat /stub-calls
"""


@pytest.fixture(scope="module")
def podman_env() -> dict[str, str]:
    if shutil.which("podman") is None:
        pytest.skip("podman not installed: run scripts/setup-packer.sh")
    env = podman.cli_environment()
    if subprocess.run(["podman", "image", "exists", BASE_IMAGE], env=env, check=False).returncode != 0:
        pytest.skip(f"{BASE_IMAGE} missing: run `gantry base-image`")
    return env


def run(podman_env: dict[str, str], script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            "--network=none",
            "-v",
            f"{SCRIPTS}:/scripts:ro,Z",
            BASE_IMAGE,
            "sh",
            "-c",
            script,
        ],
        env=podman_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_ami_cleanup_leaves_nothing_machine_specific(podman_env: dict[str, str]) -> None:
    result = run(podman_env, PLANT + CHECK)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "LEFT" not in out, out
    assert "LOGSIZE 0" in out
    assert "MACHINEID 0" in out
    assert "cloud-init clean --logs --seed" in out
    assert "systemctl stop ecs" in out


def test_unknown_kind_is_refused(podman_env: dict[str, str]) -> None:
    result = run(podman_env, "GOLDEN_IMAGE_KIND=vm sh /scripts/cleanup.sh")
    assert result.returncode == 2
    assert "unknown GOLDEN_IMAGE_KIND 'vm'" in result.stderr
