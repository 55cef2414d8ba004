"""Which local targets are protected, and with which approval policy, kept with the load balancer itself.

When `gantry up` first makes the load balancer of an environment approvals.protected names (production always,
unless the loud approvals.allow_unprotected_production says otherwise), it writes the approval policy (the
allowed signers and limits from the environment file, plus the demo signer's key if the example environment
names one) and a random id of that load balancer into its directory (`ensure`). From then on deploys check that
copy: editing the environment file does not loosen a running target's policy, and an approval made for one
instance of a load balancer does not open another (a new `gantry up` after `gantry down` is a new target).
Everything else only reads them, so a command that is refused leaves no protection, id or key behind.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gantry import jsonfile
from gantry.approvals import ApprovalPolicy, Protection
from gantry.errors import GantryError
from gantry.host import sshsig
from gantry.targets.local.layout import Layout


class LoadBalancerId(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[0-9a-f]{16}$")


def identity(layout: Layout, env: str, region: str) -> str:
    """The load balancer's identity, as `gantry up` made it."""
    path = layout.lb(region, env) / "identity.json"
    if not path.is_file():
        raise GantryError(f"the {env} load balancer in {region} was never started: run `gantry up`")
    instance = jsonfile.load(path, LoadBalancerId, fix="recreate the target (gantry down, then gantry up)").id
    return f"local:{layout.cfg.customer}:{region}:lb-{env}:{layout.lb_port(region, env)}:{instance}"


def _demo_key_path(layout: Layout) -> Path:
    return layout.root / "approvals" / "demo_ed25519"


def demo_key(layout: Layout) -> Path | None:
    """The demo signer's key in the run directory, as `gantry up` made it (only if approvals.demo_signer is
    set)."""
    key = _demo_key_path(layout)
    return key if layout.cfg.approvals.demo_signer is not None and key.is_file() else None


def ensure_all(layout: Layout) -> None:
    """`ensure` for every load balancer of every environment."""
    for env in layout.cfg.environments:
        for region in layout.cfg.regions_of(env):
            ensure(layout, env, region)


def ensure(layout: Layout, env: str, region: str) -> None:
    """`gantry up`: the load balancer's id, and for a protected environment its protection (with the demo
    signer's key, made here once, when the environment file names one); kept as they are once made."""
    jsonfile.create_once(layout.lb(region, env) / "identity.json", {"id": secrets.token_hex(8)})
    signer = layout.cfg.approvals.demo_signer
    key = _demo_key_path(layout)
    if signer is not None and not key.is_file():
        sshsig.generate(key, signer)
    path = layout.lb(region, env) / "protection.json"
    if layout.cfg.is_protected(env) and not path.is_file():
        made = Protection(identity=identity(layout, env, region), policy=_policy(layout, demo_key(layout)))
        jsonfile.create_once(path, made.model_dump())


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


def of(layout: Layout, env: str, region: str) -> Protection | None:
    """The load balancer's protection as `gantry up` made it; None where it has none (a protected environment's
    target without one is refused by the callers: fail closed)."""
    path = layout.lb(region, env) / "protection.json"
    if not path.is_file():
        return None
    return jsonfile.load(path, Protection, fix="recreate the target (gantry down, then gantry up)")
