#!/usr/bin/env python3
"""The committed AWS provider schema extract (aws.schema.json): which types it must hold, how it is made, and
whether it still matches the real provider.

  extract.py --covers                       every AWS type the repository names is in the extract (no provider)
  extract.py --write --terraform BIN --mirror DIR    regenerate it from the real provider in a filesystem mirror
  extract.py --check --terraform BIN --mirror DIR    regenerate in memory and diff against the committed file

The extract is `terraform providers schema -json` filtered to those types, without descriptions (the
schema-only provider needs none, and they are most of the size).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXTRACT = HERE / "aws.schema.json"
ADDRESS = "registry.terraform.io/hashicorp/aws"
# Where Terraform code lives: the stacks and modules, the environment template, the moto test root.
SOURCES = (REPO / "terraform", REPO / "gantry" / "newenv" / "templates", REPO / "tests" / "terraform")
DECLARATION = re.compile(r'^\s*(resource|data|ephemeral|mock_resource|mock_data)\s+"(aws_[a-z0-9_]+)"', re.MULTILINE)
KINDS = {
    "resource": "resource_schemas",
    "mock_resource": "resource_schemas",
    "data": "data_source_schemas",
    "mock_data": "data_source_schemas",
    "ephemeral": "ephemeral_resource_schemas",
}
DROPPED = frozenset({"description", "description_kind"})


def used_types() -> dict[str, set[str]]:
    """The AWS types the repository declares, mocks or reads, by schema kind."""
    found: dict[str, set[str]] = {kind: set() for kind in set(KINDS.values())}
    for base in SOURCES:
        for path in sorted(base.rglob("*")):
            if path.suffix not in {".tf", ".hcl"} or ".terraform" in path.parts:
                continue
            for kind, type_name in DECLARATION.findall(path.read_text(encoding="utf-8")):
                found[KINDS[kind]].add(type_name)
    return found


def without_descriptions(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema, block, attribute or block type without its descriptions (an attribute may be *named*
    `description`: the keys of `attributes` and `block_types` are names, kept as they are)."""
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key in DROPPED:
            continue
        if key in {"attributes", "block_types"}:
            kept[key] = {name: without_descriptions(item) for name, item in value.items()}
        elif key in {"block", "nested_type"}:
            kept[key] = without_descriptions(value)
        else:
            kept[key] = value
    return kept


def filtered(full: dict[str, Any]) -> dict[str, Any]:
    """The provider's whole schema cut to the used types; a used type the provider lacks is an error."""
    schemas = full["provider_schemas"][ADDRESS]
    kept: dict[str, Any] = {"provider": without_descriptions(schemas["provider"])}
    for kind, names in sorted(used_types().items()):
        available = schemas.get(kind, {})
        if missing := sorted(names - set(available)):
            raise SystemExit(f"extract.py: the provider has no {kind} {', '.join(missing)}")
        kept[kind] = {name: without_descriptions(available[name]) for name in sorted(names)}
    return {"format_version": full["format_version"], "provider_schemas": {ADDRESS: kept}}


def from_provider(terraform: str, mirror: Path) -> dict[str, Any]:
    """Run `terraform providers schema -json` in an empty root against the provider in `mirror`."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "main.tf").write_text(
            'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
        )
        (root / "terraformrc").write_text(
            f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
        )
        env = {**os.environ, "TF_CLI_CONFIG_FILE": str(root / "terraformrc"), "CHECKPOINT_DISABLE": "1"}
        for args in (["init", "-backend=false", "-input=false", "-no-color"], ["providers", "schema", "-json"]):
            done = subprocess.run([terraform, *args], cwd=root, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"extract.py: terraform {' '.join(args)} failed:\n{done.stderr}")
        return filtered(json.loads(done.stdout))


def rendered(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def covers(extract: Path) -> int:
    committed = json.loads(extract.read_text(encoding="utf-8"))["provider_schemas"][ADDRESS]
    missing = [
        f"{kind[: -len('_schemas')]} {name}"
        for kind, names in sorted(used_types().items())
        for name in sorted(names - set(committed.get(kind, {})))
    ]
    if missing:
        print(
            f"{extract.name} lacks {', '.join(missing)}: regenerate it with the real provider "
            "(terraform/schema-provider/README.md)",
            file=sys.stderr,
        )
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--covers", action="store_true")
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    parser.add_argument("--extract", type=Path, default=EXTRACT, help="the extract file (default: %(default)s)")
    parser.add_argument("--terraform", default="terraform")
    parser.add_argument("--mirror", type=Path)
    args = parser.parse_args()
    if args.covers:
        return covers(args.extract)
    if args.mirror is None:
        parser.error("--write and --check need --mirror: the filesystem mirror that holds the real provider")
    fresh = rendered(from_provider(args.terraform, args.mirror))
    if args.write:
        args.extract.write_text(fresh, encoding="utf-8")
        return 0
    committed = args.extract.read_text(encoding="utf-8")
    if committed != fresh:
        diff = difflib.unified_diff(committed.splitlines(), fresh.splitlines(), "committed", "provider", lineterm="")
        print("\n".join(list(diff)[:200]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
