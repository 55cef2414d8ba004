"""Security by default, checked on the parsed HCL of every module and root."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tfhelpers import TEMPLATE, TERRAFORM, merged, parsed, resources, tf_files

ALL_TF = [*tf_files(), *sorted(TEMPLATE.glob("*.tf"))]
POLICY_ATTRIBUTES = ("policy", "assume_role_policy")


def _all_resources(kind: str = "resource") -> list[tuple[Path, str, str, dict[str, Any]]]:
    found = []
    for path in ALL_TF:
        for type_name, name, body in resources(parsed(path), kind):
            found.append((path, type_name, name, body))
    return found


def _of_type(type_name: str) -> list[tuple[Path, str, dict[str, Any]]]:
    return [(p, n, b) for p, t, n, b in _all_resources() if t == type_name]


# Action lists that are expressions, not literals: each is checked on its own (test_key_policy_action_lists...).
ACTION_EXPRESSIONS = {
    "${local.administration_actions}",
    "${local.usage_actions}",
    "${sort(local.account_actions)}",
    "${local.via_service_actions}",
}


def _literal_list(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _variable_default(module: Path, name: str) -> object:
    for entry in merged(module).get("variable", []):
        if name in entry:
            return entry[name].get("default")
    raise AssertionError(f"{module}: no variable {name}")


def _is_wildcard_action(action: str) -> bool:
    return action == "*" or action.endswith(":*")


# Policies rendered by the pure policy modules (pipeline_iam, kms_key/policy): their JSON is what
# tests/aws/test_least_privilege.py renders with Terraform, simulates and lints, statement by statement.
RENDERED_POLICIES = {"${module.policy.json}", "${each.value.policy}", "${each.value.trust_policy}"}


def test_policies_are_built_from_policy_documents_not_inline_json() -> None:
    # Inline jsonencode() policies would escape the statement checks below (or the rendered ones').
    for path, type_name, name, body in _all_resources():
        for attribute in POLICY_ATTRIBUTES:
            value = body.get(attribute)
            if value is None or type_name in {"aws_ecr_lifecycle_policy"}:
                continue
            if str(value) in RENDERED_POLICIES or (
                path.parent.name == "security_baseline" and "approval_admin" in name
            ):
                continue  # the approval administrator's: pipeline_iam's document, and a one-statement trust
            assert "data.aws_iam_policy_document." in str(value), f"{path}: {type_name}.{name}.{attribute}"


def _statements() -> list[tuple[Path, str, dict[str, Any]]]:
    found = []
    for path, type_name, name, body in _all_resources("data"):
        if type_name == "aws_iam_policy_document":
            found.extend((path, name, statement) for statement in body.get("statement", []))
        for dynamic in body.get("dynamic", []):
            for statement in dynamic.get("statement", {}).get("content", []):
                found.append((path, name, statement))
    return found


def test_policy_documents_exist_to_check() -> None:
    assert len(_statements()) >= 15


def test_no_wildcard_action_on_wildcard_resource() -> None:
    for path, name, statement in _statements():
        raw = statement.get("actions")
        # An expression would escape the checks below: only the known, separately checked ones are allowed.
        assert isinstance(raw, list) or raw in ACTION_EXPRESSIONS, f"{path}: {name} computes its actions ({raw})"
        actions = _literal_list(raw)
        resources_ = _literal_list(statement.get("resources"))
        wildcard_actions = [a for a in actions if _is_wildcard_action(a)]
        if statement.get("effect") == "Deny":
            continue
        assert not (wildcard_actions and "*" in resources_), f"{path}: {name} grants {wildcard_actions} on *"
        assert not wildcard_actions, f"{path}: {name} uses wildcard actions {wildcard_actions}"


def test_key_policy_action_lists_have_no_wildcards() -> None:
    (local,) = merged(TERRAFORM / "modules" / "kms_key" / "policy")["locals"]
    for name in ("administration_actions", "usage_actions", "cryptographic_actions", "via_service_actions"):
        actions = local[name]
        assert actions and all(a.startswith("kms:") and "*" not in a for a in actions), name


def test_log_groups_are_kms_encrypted_and_kept_a_year() -> None:
    groups = _of_type("aws_cloudwatch_log_group")
    assert len(groups) >= 3
    for path, name, body in groups:
        assert body.get("kms_key_id"), f"{path}: log group {name} is not KMS-encrypted"
        retention = body.get("retention_in_days")
        if isinstance(retention, str) and retention.startswith("${var."):
            # A variable (`var.days`) or an attribute of an object variable (`var.cluster.days`).
            reference = retention.removeprefix("${var.").removesuffix("}")
            validations = str(merged(path.parent)["variable"])
            assert f"var.{reference} >= 365" in validations or "contains([365," in validations, (
                f"{path}: {reference} may be set below a year"
            )
            if "." in reference:
                continue  # an object's attribute has no default of its own: its validation is the guarantee
            retention = _variable_default(path.parent, reference)
        assert isinstance(retention, int) and retention >= 365, f"{path}: log group {name} keeps logs {retention} days"


BASELINE = "s3_bucket_baseline"


def _baseline_calls() -> list[tuple[Path, str, dict[str, Any]]]:
    calls = []
    for path in ALL_TF:
        for entry in parsed(path).get("module", []):
            for name, body in entry.items():
                if (path.parent / str(body.get("source", ""))).resolve() == TERRAFORM / "modules" / BASELINE:
                    calls.append((path, name, body))
    return calls


def test_every_bucket_goes_through_the_shared_baseline() -> None:
    calls = _baseline_calls()
    for path, name, _body in _of_type("aws_s3_bucket"):
        reference = f"aws_s3_bucket.{name}.id"
        assert any(p.parent == path.parent and reference in str(b.get("bucket")) for p, _, b in calls), (
            f"{path}: bucket {name} is not hardened by modules/{BASELINE}"
        )
    assert len(calls) >= 3


def test_the_baseline_makes_buckets_encrypted_private_versioned_and_tls_only() -> None:
    directory = TERRAFORM / "modules" / BASELINE
    found = {t: b for p, t, _, b in _all_resources() if p.parent == directory}
    for required in (
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_lifecycle_configuration",
    ):
        assert required in found, f"modules/{BASELINE} has no {required}"
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert found["aws_s3_bucket_public_access_block"].get(flag) is True, flag
    statements = [s for p, _, s in _statements() if p.parent == directory]
    assert any(s.get("sid") == "DenyInsecureTransport" and s.get("effect") == "Deny" for s in statements)


def test_buckets_use_kms_unless_alb_logs() -> None:
    for path, name, body in _baseline_calls():
        if path.parent.name == "alb":
            assert body.get("kms_key_arn") is None, "ALB log delivery supports SSE-S3 only"
        else:
            assert body.get("kms_key_arn"), f"{path}: module {name} leaves its bucket without a KMS key"


def test_other_encryptable_resources_are_encrypted() -> None:
    checks = {
        "aws_sns_topic": lambda b: b.get("kms_master_key_id"),
        "aws_codecommit_repository": lambda b: b.get("kms_key_id"),
        "aws_cloudtrail": lambda b: b.get("kms_key_id") and b.get("enable_log_file_validation") is True,
        "aws_kms_key": lambda b: b.get("enable_key_rotation") is True,
        "aws_dynamodb_table": lambda b: (
            b["server_side_encryption"][0]["enabled"] is True
            and b["server_side_encryption"][0].get("kms_key_arn")
            and b["point_in_time_recovery"][0]["enabled"] is True
        ),
        "aws_ecr_repository": lambda b: (
            b["encryption_configuration"][0]["encryption_type"] == "KMS"
            and b["image_tag_mutability"] == "IMMUTABLE"
            and b["image_scanning_configuration"][0]["scan_on_push"] is True
        ),
        "aws_launch_template": lambda b: (
            b["block_device_mappings"][0]["ebs"][0]["encrypted"] is True
            and b["metadata_options"][0]["http_tokens"] == "required"
        ),
        "aws_instance": lambda b: (
            b["root_block_device"][0]["encrypted"] is True and b["metadata_options"][0]["http_tokens"] == "required"
        ),
    }
    for type_name, check in checks.items():
        found = _of_type(type_name)
        assert found, f"no {type_name} found"
        for path, name, body in found:
            assert check(body), f"{path}: {type_name}.{name} is not set up securely"


def test_no_ssh_or_open_admin_ports() -> None:
    for path, name, body in _of_type("aws_vpc_security_group_ingress_rule"):
        from_port, to_port = int(body.get("from_port", 0)), int(body.get("to_port", 65535))
        if body.get("cidr_ipv4") == "0.0.0.0/0":
            assert (from_port, to_port) in {(443, 443), (80, 80)}, f"{path}: {name} opens {from_port}-{to_port}"
        assert not from_port <= 22 <= to_port or "referenced_security_group_id" in body, f"{path}: {name} SSH"
    assert not _of_type("aws_key_pair"), "instances are reached with Session Manager, never with SSH keys"
    assert not any("ingress" in body for _, _, body in _of_type("aws_security_group")), "use rule resources"


def test_bastion_is_off_by_default() -> None:
    variables = merged(TERRAFORM / "modules" / "ecs_cluster")["variable"]
    bastion = next(v["enable_bastion"] for v in variables if "enable_bastion" in v)
    assert bastion["default"] is False


def test_alb_hardening() -> None:
    ((_, _, alb),) = _of_type("aws_lb")
    assert alb["drop_invalid_header_fields"] is True and alb["internal"] is False
    assert alb["access_logs"][0]["enabled"] is True
    listeners = {n: b for _, n, b in _of_type("aws_lb_listener")}
    assert listeners["https"]["protocol"] == "HTTPS" and listeners["https"]["ssl_policy"] == "${var.ssl_policy}"
    assert str(_variable_default(TERRAFORM / "modules/alb", "ssl_policy")).startswith("ELBSecurityPolicy-TLS13")
    assert listeners["http"]["default_action"][0]["type"] == "redirect"
    ((_, _, group),) = _of_type("aws_lb_target_group")
    assert group["health_check"][0]["path"] == "${var.health_check.path}"
    assert _variable_default(TERRAFORM / "modules/alb", "health_check")["path"] == "/healthz"


SKIP_RE = re.compile(r"#checkov:skip=(CKV2?_AWS_\d+)(:?)(.*)")


@pytest.mark.parametrize("path", ALL_TF, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_checkov_skips_carry_a_justification(path: Path) -> None:
    for line in path.read_text().splitlines():
        match = SKIP_RE.search(line)
        if match:
            assert match.group(2) == ":" and len(match.group(3).strip()) >= 20, f"{path}: {line.strip()}"
