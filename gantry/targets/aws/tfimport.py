"""Import `terraform output -json` into an environment file's `aws:` section.

Contract with the Terraform stack: one output named `gantry_aws` whose value has the shape of AwsSettings
(see settings.py), or the per-environment stacks' `deploy_targets` output imported for one environment
(`--env`), or the global root's `records` output (the records' path and KMS key, which the environment roots
also export). Values from Terraform win over the file; keys Terraform does not emit (timeouts, dr
tuning) are kept. The result is validated as a whole environment file before anything is written.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from gantry.config import parse
from gantry.errors import ConfigError
from gantry.jsonfile import write_atomic
from gantry.targets.aws.settings import AwsSettings

OUTPUT_NAME = "gantry_aws"
DEPLOY_TARGETS = "deploy_targets"
DATABASE = "database"  # the environment root's Aurora global database (terraform/modules/aurora_global)
FAILOVER = "failover"  # the environment root's Route 53 failover pair (terraform/modules/dns_failover)
RECORDS = "records"  # the records' SSM path and KMS key (terraform/global creates the key; env roots re-export it)
ROLES = "gantry_roles"  # the role of each pipeline identity (terraform/global's modules/pipeline_iam)


def read_outputs(source: Path) -> dict[str, Any]:
    """`source` is a saved `terraform output -json` file, or a Terraform directory to run it in."""
    if source.is_dir():
        result = subprocess.run(
            ["terraform", f"-chdir={source}", "output", "-json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise ConfigError(f"terraform output failed in {source}: run terraform apply there first")
        text = result.stdout
    elif source.is_file():
        text = source.read_text()
    else:
        raise ConfigError(f"{source} not found: pass a Terraform directory or a `terraform output -json` file")
    try:
        outputs: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigError(f"{source}: not `terraform output -json` output") from None
    return outputs


def from_deploy_targets(outputs: dict[str, Any], env: str) -> dict[str, Any]:
    """The per-environment stacks (terraform/live/<customer>/<env>) emit `deploy_targets`: region -> cluster,
    service, task family, roles, log group and regional URL. They become aws.regions.<region> for `env`."""
    targets = outputs[DEPLOY_TARGETS].get("value")
    if not isinstance(targets, dict):
        raise ConfigError(f"terraform output '{DEPLOY_TARGETS}' must be an object keyed by region")
    regions: dict[str, Any] = {}
    for region, target in targets.items():
        service = {
            "service": target["service"],
            "cluster": target["cluster"],
            "url": target.get("url"),
            "task_family": target.get("task_family"),
            "log_group": target.get("log_group"),
            "execution_role_arn": target.get("execution_role_arn"),
            "task_role_arn": target.get("task_role_arn"),
            "migration_execution_role_arn": target.get("migration_execution_role_arn"),
        }
        for key, setting in (("db_endpoint", "database_endpoint"), ("db_secret_arn", "database_secret_arn")):
            if target.get(key):
                service[setting] = target[key]
        regions[region] = {
            "cluster": target["cluster"],
            "environments": {env: {k: v for k, v in service.items() if v is not None}},
        }
    imported: dict[str, Any] = {"regions": regions}
    failover = outputs.get(FAILOVER, {}).get("value")
    if isinstance(failover, dict):
        imported["dr"] = {"environment": env, "url": f"https://{failover['record_name']}", **failover}
    database = outputs.get(DATABASE, {}).get("value")
    if isinstance(database, dict) and database.get("global_cluster_id"):
        members = database.get("regions") or {}
        imported.setdefault("dr", {}).update(
            global_cluster_id=database["global_cluster_id"],
            cluster_arns={region: member["cluster_arn"] for region, member in members.items()},
        )
        for region, member in members.items():
            if region in regions:
                regions[region]["environments"][env]["owner_secret_arn"] = member["secret_arn"]
        imported.setdefault("database", {})
    imported.update(from_records(outputs))
    return imported


def from_records(outputs: dict[str, Any]) -> dict[str, Any]:
    """aws.records_path, aws.records_kms_key and aws.roles from a root's `records` and `gantry_roles` outputs
    (nothing when it has none)."""
    found: dict[str, Any] = {}
    records = outputs.get(RECORDS, {}).get("value")
    if isinstance(records, dict):
        found.update(records_path=records["path"], records_kms_key=records["kms_key"])
    roles = outputs.get(ROLES, {}).get("value")
    if isinstance(roles, dict):
        found["roles"] = roles
    return found


def merge(environment: dict[str, Any], outputs: dict[str, Any], env: str | None = None) -> dict[str, Any]:
    if OUTPUT_NAME not in outputs and DEPLOY_TARGETS in outputs and env:
        outputs = {OUTPUT_NAME: {"value": from_deploy_targets(outputs, env)}}
    elif OUTPUT_NAME not in outputs and DEPLOY_TARGETS not in outputs and RECORDS in outputs:
        outputs = {OUTPUT_NAME: {"value": from_records(outputs)}}  # the global root
    if OUTPUT_NAME not in outputs:
        raise ConfigError(
            f"terraform outputs lack '{OUTPUT_NAME}' (or '{DEPLOY_TARGETS}' with --env): add one to the stack"
        )
    imported = outputs[OUTPUT_NAME].get("value")
    if not isinstance(imported, dict):
        raise ConfigError(f"terraform output '{OUTPUT_NAME}' must be an object")
    merged = dict(environment)
    merged["aws"] = _deep_merge(dict(environment.get("aws") or {}), imported)
    return merged


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _deep_merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


def import_outputs(config_file: Path, source: Path, out: Path | None = None, env: str | None = None) -> Path:
    raw = yaml.safe_load(config_file.read_text())
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_file}: expected a mapping at the top level")
    merged = merge(raw, read_outputs(source), env)
    try:
        cfg = parse(merged, config_file)
        if cfg.has_section("aws"):
            AwsSettings.of(cfg)
    except ConfigError as exc:
        raise ConfigError(f"imported outputs are invalid: {exc}: fix the stack outputs") from None
    target = out or config_file
    if target.suffix == ".json":
        write_atomic(target, merged)
    else:
        target.write_text(
            "# Generated by gantry from `terraform output -json` (output 'gantry_aws'); edit the stack.\n"
            + yaml.safe_dump(merged, sort_keys=False, default_flow_style=False, width=110)
        )
    return target
