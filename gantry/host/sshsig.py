"""OpenSSH signatures (`ssh-keygen -Y`), the format git uses for signed commits: an approver signs with the
SSH key they already have, and verification needs only an allowed-signers file (principal, key), never a
shared secret. Every call passes the namespace, so a signature made for anything else never verifies here."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from gantry.errors import ConfigError, GantryError

NAMESPACE = "gantry-approval"


def _ssh_keygen() -> str:
    binary = shutil.which("ssh-keygen")
    if binary is None:
        raise GantryError("ssh-keygen is not installed: run `make bootstrap` (it installs openssh-client)")
    return binary


def _looks_like_a_key(path: Path) -> bool:
    """A private key file (OpenSSH or PEM) or a public key line; only its first bytes are read."""
    with path.open("rb") as handle:
        head = handle.read(64)
    return head.startswith((b"-----BEGIN ", b"ssh-", b"ecdsa-sha2-", b"sk-"))


def check_key(key: Path) -> Path:
    """`key` names a signing key (a private key, or the .pub of one in ssh-agent); ConfigError otherwise."""
    if not key.exists():
        raise ConfigError(f"signing key {key} not found: pass --key with your SSH private key (ed25519 preferred)")
    if not key.is_file() or not _looks_like_a_key(key):
        raise ConfigError(
            f"{key} is not an SSH private key (nor the .pub of a key in ssh-agent): pass --key with your key"
        )
    return key


def sign(message: bytes, key: Path) -> str:
    """An armored signature of `message` by the private key at `key` (or the agent's, given the .pub)."""
    check_key(key)
    result = subprocess.run(
        [_ssh_keygen(), "-q", "-Y", "sign", "-n", NAMESPACE, "-f", str(key)],
        input=message,
        capture_output=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0 or b"BEGIN SSH SIGNATURE" not in result.stdout:
        last = (result.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1][:200]
        raise GantryError(f"ssh-keygen could not sign with {key} ({last}): check the key and its passphrase")
    return result.stdout.decode()


def _with_files(allowed_signers: str, signature: str) -> tuple[tempfile.TemporaryDirectory[str], Path, Path]:
    scratch = tempfile.TemporaryDirectory(prefix="gantry-sshsig-")
    allowed, sig = Path(scratch.name) / "allowed_signers", Path(scratch.name) / "signature"
    allowed.write_text(allowed_signers)
    sig.write_text(signature)
    return scratch, allowed, sig


def verify(message: bytes, signature: str, allowed_signers: str, principal: str) -> bool:
    """True when `signature` over `message` was made in this namespace by a key the allowed-signers list
    gives to `principal`."""
    scratch, allowed, sig = _with_files(allowed_signers, signature)
    with scratch:
        result = subprocess.run(
            [_ssh_keygen(), "-Y", "verify", "-f", str(allowed), "-I", principal, "-n", NAMESPACE, "-s", str(sig)],
            input=message,
            capture_output=True,
            check=False,
            timeout=60,
        )
    return result.returncode == 0


def principals(signature: str, allowed_signers: str) -> list[str]:
    """The principals the allowed-signers list gives to the key that made `signature` (none: not listed)."""
    scratch, allowed, sig = _with_files(allowed_signers, signature)
    with scratch:
        result = subprocess.run(
            [_ssh_keygen(), "-Y", "find-principals", "-f", str(allowed), "-n", NAMESPACE, "-s", str(sig)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    return result.stdout.split() if result.returncode == 0 else []


def generate(path: Path, comment: str) -> Path:
    """A new ed25519 key pair without passphrase at `path` (0600) and `path`.pub; returns the .pub path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [_ssh_keygen(), "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise GantryError(f"ssh-keygen could not make a key at {path}: {result.stderr.strip()[:200]}")
    return path.with_name(path.name + ".pub")


def allowed_signer_line(principal: str, public_key: str) -> str:
    """One allowed-signers entry restricted to this namespace."""
    key_type, key = public_key.split()[:2]
    return f'{principal} namespaces="{NAMESPACE}" {key_type} {key}\n'
