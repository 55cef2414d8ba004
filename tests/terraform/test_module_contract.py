"""Every module follows the same contract: standard files, typed and described inputs, described outputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tfhelpers import MODULES, labelled, merged, module_dirs, parsed, tf_files

STANDARD_FILES = ("versions.tf", "variables.tf", "outputs.tf", "main.tf", "README.md")
EXPECTED_MODULES = {
    "network",
    "peering",
    "alb",
    "ecs_cluster",
    "ecs_service",
    "ecr",
    "dns_failover",
    "monitoring",
    "source_mirror",
    "security_baseline",
    "state_backend",
}


def test_every_module_the_issue_names_exists() -> None:
    assert {p.name for p in module_dirs()} >= EXPECTED_MODULES


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_standard_files_and_example(module: Path) -> None:
    for name in STANDARD_FILES:
        assert (module / name).is_file(), f"{module.name} lacks {name}"
    examples = [p for p in (module / "examples").iterdir() if p.is_dir()]
    assert examples, f"{module.name} has no examples/ root"
    for example in examples:
        sources = [body["source"] for body in labelled(merged(example), "module").values()]
        assert "../.." in sources, f"{example} does not instantiate the module itself"


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_versions_pin_terraform_and_aws_major(module: Path) -> None:
    terraform = parsed(module / "versions.tf")["terraform"][0]
    floor = re.match(r">= (\d+)\.(\d+)", terraform["required_version"])
    assert floor and (int(floor[1]), int(floor[2])) >= (1, 7), "mock providers in `terraform test` need 1.7"
    document = merged(module)
    if "resource" not in document and "data" not in document and "module" not in document:
        # A pure module (values only, e.g. pipeline_iam): no provider, so Terraform alone renders it.
        assert "required_providers" not in terraform, f"{module.name} is pure: it needs no provider"
        return
    aws = terraform["required_providers"][0]["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert aws["version"] == ">= 6.0, < 7.0", "modules rely on the 6.x per-resource `region` argument"
    # Modules never configure providers: roots do, so one module serves any region through aliases.
    assert "provider" not in merged(module), f"{module.name} configures a provider"


def _variables(directory: Path) -> dict[str, dict[str, object]]:
    return labelled(merged(directory), "variable")


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_variables_are_typed_and_described(module: Path) -> None:
    variables = _variables(module)
    assert variables, f"{module.name} declares no variables"
    for name, body in variables.items():
        assert "type" in body, f"{module.name}: variable {name} has no type"
        description = body.get("description")
        assert isinstance(description, str) and len(description) >= 10, f"{module.name}: {name} undescribed"
    assert {p.name for p in module.glob("*.tf") if "variable" in parsed(p)} == {"variables.tf"}


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_outputs_are_described_and_in_outputs_tf(module: Path) -> None:
    outputs = labelled(merged(module), "output")
    assert outputs, f"{module.name} has no outputs"
    for name, body in outputs.items():
        assert isinstance(body.get("description"), str) and body["description"], f"{module.name}: {name}"
    assert {p.name for p in module.glob("*.tf") if "output" in parsed(p)} == {"outputs.tf"}


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_readme_documents_every_input_and_output(module: Path) -> None:
    readme = (module / "README.md").read_text()
    for name in [*_variables(module), *labelled(merged(module), "output")]:
        assert f"`{name}`" in readme, f"{module.name}/README.md does not mention `{name}`"


def test_names_and_cidrs_are_validated_where_taken() -> None:
    for module in module_dirs():
        for name, body in _variables(module).items():
            if name in {"cidr_block", "name", "bucket_name"} and "validation" not in body:
                pytest.fail(f"{module.name}: variable {name} has no validation block")


def test_every_variable_and_output_in_examples_and_roots_is_described() -> None:
    for path in tf_files():
        if path.is_relative_to(MODULES) and path.parent.parent.name != "examples":
            continue
        for kind in ("variable", "output"):
            for name, body in labelled(parsed(path), kind).items():
                assert body.get("description"), f"{path}: {kind} {name} has no description"


def test_no_unused_module_variables() -> None:
    for module in module_dirs():
        code = "\n".join(p.read_text() for p in module.glob("*.tf") if p.name != "variables.tf")
        for name in _variables(module):
            assert re.search(rf"\bvar\.{name}\b", code), f"{module.name}: variable {name} is never used"
