"""The schema-only AWS provider (terraform/schema-provider) and the schema extract it serves.

The extract must name every AWS type the repository uses (checked everywhere), and must equal what the real
provider says (checked wherever the real provider is built). The provider itself must refuse to plan, so a
validate or test that passes against it can never be mistaken for one that reached AWS.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tfhelpers import REPO, provider_layer, require_real_provider, terraform_env

EXTRACT_SCRIPT = REPO / "terraform" / "schema-provider" / "extract.py"
EXTRACT = EXTRACT_SCRIPT.parent / "aws.schema.json"


def extract(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXTRACT_SCRIPT), *args], capture_output=True, text=True, timeout=600, check=False
    )


def test_the_extract_holds_every_aws_type_the_repository_uses() -> None:
    done = extract("--covers")
    assert done.returncode == 0, done.stderr


def test_a_type_missing_from_the_extract_is_named(tmp_path: Path) -> None:
    """An extract that lacks a used type (a new resource added without regenerating) fails, naming it and the fix."""
    document = json.loads(EXTRACT.read_text())
    del document["provider_schemas"]["registry.terraform.io/hashicorp/aws"]["resource_schemas"]["aws_sns_topic"]
    stale = tmp_path / "aws.schema.json"
    stale.write_text(json.dumps(document))
    done = extract("--covers", "--extract", str(stale))
    assert done.returncode == 1
    assert "lacks resource aws_sns_topic" in done.stderr and "regenerate it with the real provider" in done.stderr


def test_the_extract_matches_the_real_provider(terraform_bin: str) -> None:
    mirror = require_real_provider()
    done = extract("--check", "--terraform", terraform_bin, "--mirror", str(mirror))
    assert done.returncode == 0, f"aws.schema.json differs from the real provider:\n{done.stdout}{done.stderr}"


def test_the_schema_only_provider_refuses_to_plan(terraform_bin: str, tmp_path: Path) -> None:
    """Validate passes and plan fails with the reason, against the schema-only provider itself."""
    layer = provider_layer()
    assert layer is not None, "no AWS provider in the tools cache: run scripts/setup-terraform.sh"
    schema_only = layer[1].parent / "schema-mirror" if layer[0] == "real" else layer[1]
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
        'provider "aws" {\n  region = "us-east-1"\n}\n'
        'resource "aws_sns_topic" "probe" {\n  name = "probe"\n}\n'
    )
    env = terraform_env(tmp_path, schema_only)

    def terraform(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [terraform_bin, *args, "-no-color"], cwd=root, env=env, capture_output=True, text=True, timeout=300
        )

    assert terraform("init", "-backend=false", "-input=false").returncode == 0
    assert terraform("validate").returncode == 0
    # A mistyped argument is caught by the schema alone.
    (root / "main.tf").write_text((root / "main.tf").read_text().replace("name =", "nmae ="))
    invalid = terraform("validate")
    assert invalid.returncode == 1 and 'An argument named "nmae" is not expected here' in invalid.stderr
    (root / "main.tf").write_text((root / "main.tf").read_text().replace("nmae =", "name ="))
    plan = terraform("plan", "-refresh=false", "-input=false")
    assert plan.returncode == 1 and "needs the real AWS provider" in plan.stderr, plan.stderr
