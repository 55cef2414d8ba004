"""Environment roots: one template, both regions identical, address plan without overlaps."""

from __future__ import annotations

import ipaddress
import itertools
import json
from pathlib import Path

import pytest
from tfhelpers import LIVE, TEMPLATE, TERRAFORM, env_roots, labelled, merged

from gantry.names import AWS_REGIONS
from gantry.newenv.inventory import allocations
from gantry.newenv.render import template_files

ROOT = TERRAFORM.parent

REGION_ROLES = ("primary", "secondary")


def test_the_issue_examples_exist() -> None:
    names = {f"{p.parent.name}/{p.name}" for p in env_roots()}
    assert {"example/test", "example/prod"} <= names


@pytest.mark.parametrize("root", env_roots(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_root_is_the_template_verbatim(root: Path) -> None:
    # Drift in one environment's code is impossible: its .tf files must equal the template's.
    template = template_files()
    assert {p.name for p in root.glob("*.tf")} == set(template)
    for name, text in template.items():
        assert (root / name).read_text() == text, f"{root}/{name} differs from {TEMPLATE}/{name}"


def test_template_instantiates_the_same_stack_in_both_regions() -> None:
    document = merged(TEMPLATE)
    modules = labelled(document, "module")
    primary, secondary = modules["primary"], modules["secondary"]
    assert primary["source"] == secondary["source"] == "../../../modules/region"
    assert primary["providers"] == {"aws": "${aws.primary}"} and secondary["providers"] == {"aws": "${aws.secondary}"}
    differing = {key for key in primary.keys() | secondary.keys() if primary.get(key) != secondary.get(key)}
    assert differing == {"providers", "role", "cidr_block"}
    providers = {body.get("alias") for entry in document["provider"] for body in entry.values()}
    assert providers == set(REGION_ROLES)
    peering = modules["peering"]
    assert peering["providers"] == {"aws": "${aws.primary}", "${aws.peer}": "${aws.secondary}"}
    assert {"dns_failover", "monitoring"} <= modules.keys()


def test_region_stack_composes_the_regional_modules() -> None:
    sources = {b["source"] for b in labelled(merged(TERRAFORM / "modules" / "region"), "module").values()}
    assert sources == {"../kms_key", "../network", "../alb", "../ecs_cluster", "../ecs_service"}


def _customers() -> dict[str, dict[str, str]]:
    return {p.parent.name: json.loads(p.read_text()) for p in LIVE.glob("*/customer.json")}


def test_customers_have_two_distinct_valid_regions() -> None:
    customers = _customers()
    assert customers
    for name, data in customers.items():
        assert data["name"] == name
        assert data["primary_region"] in AWS_REGIONS and data["secondary_region"] in AWS_REGIONS
        assert data["primary_region"] != data["secondary_region"]


def test_cidrs_never_overlap_anywhere() -> None:
    found = allocations(LIVE)
    assert len(found) == 2 * len(env_roots())
    for a, b in itertools.combinations(found, 2):
        assert not a.network.overlaps(b.network), f"{a.owner} {a.network} overlaps {b.owner} {b.network}"
    for allocation in found:
        assert allocation.network.is_private and 16 <= allocation.network.prefixlen <= 24


@pytest.mark.parametrize("root", env_roots(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_environment_data_matches_directory(root: Path) -> None:
    data = json.loads((root / "environment.auto.tfvars.json").read_text())
    assert data["environment"] == root.name
    ipaddress.IPv4Network(data["primary_cidr"])
    variables = labelled(merged(root), "variable")
    assert set(data) <= set(variables), "tfvars set a variable the root does not declare"


def test_state_keys_are_unique() -> None:
    keys = [
        line.split("=", 1)[1].strip()
        for path in LIVE.rglob("*backend.hcl")
        for line in path.read_text().splitlines()
        if line.startswith("key")
    ]
    assert keys and len(keys) == len(set(keys))


def test_global_root_discovers_environments_without_edits() -> None:
    main = (TERRAFORM / "global" / "main.tf").read_text()
    assert 'fileset(local.live_dir, "*/environment.auto.tfvars.json")' in main
    assert "customer.json" in main


def test_health_check_numbers_have_one_source() -> None:
    """The roots read config/health-checks.yaml (the local target reads it too) and the path from the service's
    contract (its `health.path`, /healthz by default, as gantry's model defaults it); the alb module's default,
    for use on its own, may not drift from them, and the numbers are valid for the ALB and Route 53."""
    from gantry.contract import HealthContract
    from gantry.targets.local import health

    main = TEMPLATE / "main.tf"
    text = main.read_text()
    assert 'yamldecode(file("${path.module}/../../../../config/health-checks.yaml"))' in text
    contract = 'yamldecode(file("${path.module}/../../../../services/${local.customer.service_name}/service.yaml"))'
    assert contract in text
    assert f'health_path = try(local.contract.health.path, "{HealthContract().path}")' in text
    assert text.count("key => local.health.target_group[key]") == 2  # both regions
    assert text.count("{ path = local.health_path }") == 2
    assert "health_check_path     = local.health_path" in text
    assert "primary_search_string = local.health.failover.primary_search_string" in text
    assert "request_interval      = local.health.failover.request_interval_seconds" in text
    checks = health.load(TERRAFORM.parent)  # validated against the AWS bounds
    alb_default = next(
        entry["health_check"]["default"]
        for entry in merged(TERRAFORM / "modules/alb").get("variable", [])
        if "health_check" in entry
    )
    expected = {**checks.target_group.model_dump(), "path": HealthContract().path}
    assert alb_default == {key: expected[key] for key in alb_default}
    # Terraform refuses the paths the contract refuses (the roots read health.path without gantry's model).
    pattern = HealthContract.model_fields["path"].metadata[0].pattern
    for module, reference in (("alb", "var.health_check.path"), ("dns_failover", "var.health_check_path")):
        text = (TERRAFORM / "modules" / module / "variables.tf").read_text()
        assert f'can(regex("{pattern}", {reference}))' in text, module


def test_a_production_stack_protects_its_services_with_the_approvals_roots_policy() -> None:
    """Protection is never left to a hand-made tag: a production stack's services carry the approval policy the
    terraform/approvals root writes (the name gantry reads), in both regions; that root is the only writer."""
    template = (ROOT / "gantry/newenv/templates/env_root/main.tf").read_text()
    assert (
        'approval_policy_parameter = var.production ? "/gantry-approval-policy/${local.customer.name}/'
        '${local.pipeline_environment}" : null'
    ) in template
    assert template.count("approval_policy_parameter = local.stack.approval_policy_parameter") == 2  # both regions
    region = (ROOT / "terraform/modules/region/main.tf").read_text()
    assert "approval_policy_parameter = var.approval_policy_parameter" in region.replace("  ", " ").replace("  ", " ")
    service = (ROOT / "terraform/modules/ecs_service/main.tf").read_text()
    assert '"gantry:protected"       = "true"' in service and "merge(var.tags, local.protection_tags)" in service
    policy = (ROOT / "terraform/modules/approval_policy/main.tf").read_text()
    assert 'name        = "/gantry-approval-policy/${var.customer}/${each.key}"' in policy
    assert 'type        = "SecureString"' in policy
    approvals = json.loads((ROOT / "terraform/live/example/approvals.json").read_text())
    customer = json.loads((ROOT / "terraform/live/example/customer.json").read_text())
    assert set(approvals) == {"production"}
    assert (ROOT / approvals["production"]["allowed_signers"]).is_file()
    # The name the example aws environment's production services are tagged with, and gantry reads.
    parameter = f"/gantry-approval-policy/{customer['name']}/production"
    assert parameter == "/gantry-approval-policy/example/production"
