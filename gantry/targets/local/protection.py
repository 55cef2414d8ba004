"""Which local targets are protected, and with which approval policy, kept with the load balancer itself.

When `gantry up` first makes the load balancer of an environment approvals.protected names (production always,
unless the loud approvals.allow_unprotected_production says otherwise), it writes the approval policy (the
allowed signers and limits from the environment file, plus the demo signer's key if the example environment
names one) and a random id of that load balancer into its directory. From then on deploys check that copy:
editing the environment file does not loosen a running target's policy, and an approval made for one
instance of a load balancer does not open another (a new `gantry up` after `gantry down` is a new target).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from gantry import jsonfile
from gantry.approvals import ApprovalPolicy, Protection
from gantry.errors import ConfigError
from gantry.host import sshsig
from gantry.targets.local.layout import Layout


def identity(layout: Layout, env: str, region: str) -> str:
    path = layout.lb(region, env) / "identity.json"
    jsonfile.create_once(path, {"id": secrets.token_hex(8)})
    instance = jsonfile.read(path)["id"]
    return f"local:{layout.cfg.customer}:{region}:lb-{env}:{layout.lb_port(region, env)}:{instance}"


def demo_key(layout: Layout) -> Path | None:
    """The demo signer's key in the run directory, made on first use (only if approvals.demo_signer is set)."""
    signer = layout.cfg.approvals.demo_signer
    if signer is None:
        return None
    key = layout.root / "approvals" / "demo_ed25519"
    if not key.is_file():
        sshsig.generate(key, signer)
    return key


def _policy(layout: Layout, key: Path | None) -> ApprovalPolicy:
    policy = layout.cfg.approvals.policy(layout.cfg_root)
    if key is not None and layout.cfg.approvals.demo_signer:
        public = key.with_name(key.name + ".pub").read_text()
        signers = (
            policy.allowed_signers.rstrip("\n")
            + "\n"
            + sshsig.allowed_signer_line(layout.cfg.approvals.demo_signer, public)
        )
        policy = policy.model_copy(update={"allowed_signers": signers})
    return policy


def of(layout: Layout, env: str, region: str, key: Path | None) -> Protection | None:
    """The load balancer's protection: kept from when it was made, made now for a configured one."""
    path = layout.lb(region, env) / "protection.json"
    if not path.is_file():
        if not layout.cfg.is_protected(env):
            return None
        made = Protection(identity=identity(layout, env, region), policy=_policy(layout, key))
        jsonfile.create_once(path, made.model_dump())
    try:
        return Protection.model_validate(jsonfile.read(path))
    except ValueError as exc:
        raise ConfigError(
            f"{path} is damaged ({str(exc).splitlines()[0][:120]}): recreate the target (gantry down)"
        ) from None
