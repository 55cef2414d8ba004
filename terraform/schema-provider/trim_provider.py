#!/usr/bin/env python3
"""Cut a copy of the AWS provider's source to the service packages this repository's types live in.

  trim_provider.py SOURCE_DIR

The provider registers its 265 service packages in one generated list, and its client registry imports every
AWS SDK service client; compiling all of them is what makes the build take about 95 min on 2 cores. This keeps
the packages that define the types `extract.py` finds in the repository (and the SDK clients their code calls),
and changes nothing else: each kept type's code, the provider block and the shared wrappers are the provider's
own. Run on a writable copy; `scripts/setup-terraform.sh` does (GANTRY_TF_VALIDATE=1).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from extract import used_types

PACKAGES_LIST = Path("internal/provider/sdkv2/service_packages_gen.go")
CLIENTS = Path("internal/conns/awsclient_gen.go")
SERVICE_IMPORT = re.compile(r'\s*"github.com/hashicorp/terraform-provider-aws/internal/service/(\w+)"$')
REGISTERED = re.compile(r"\s*(\w+)\.ServicePackage\(ctx\),$")
CLIENT_METHOD = re.compile(r"func \(c \*AWSClient\) (\w+)\(ctx context\.Context\) \*\w+\.Client \{\n.*?\n\}\n\n?", re.S)
SDK_IMPORT = re.compile(r'\s*(?:(\w+)\s+)?"github.com/aws/aws-sdk-go-v2/service/([\w/]+)"$')
CLIENT_CALL = re.compile(r"\b([A-Z]\w*Client)\(ctx")


def packages_for(source: Path) -> set[str]:
    """The service packages whose generated registration names one of the used types."""
    wanted = set().union(*used_types().values())
    found: dict[str, str] = {}
    for generated in sorted(source.glob("internal/service/*/service_package_gen.go")):
        for type_name in re.findall(r'TypeName:\s+"(aws_\w+)"', generated.read_text()):
            found.setdefault(type_name, generated.parent.name)
    if missing := sorted(wanted - set(found)):
        raise SystemExit(f"trim_provider.py: no service package defines {', '.join(missing)}")
    return {found[name] for name in wanted}


def keep_lines(path: Path, keep: set[str]) -> None:
    lines = []
    for line in path.read_text().splitlines():
        match = SERVICE_IMPORT.match(line) or REGISTERED.match(line)
        if match is None or match.group(1) in keep:
            lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def trim_clients(source: Path, called: set[str]) -> None:
    """Drop the client accessors nothing kept calls, then the SDK imports only they used."""
    path = source / CLIENTS
    text = CLIENT_METHOD.sub(lambda m: m.group(0) if m.group(1) in called else "", path.read_text())
    body = text[text.index("\n)\n", text.index("import (")) :]
    lines = []
    for line in text.splitlines():
        match = SDK_IMPORT.match(line)
        alias = match and (match.group(1) or match.group(2).rsplit("/", 1)[-1])
        if not alias or re.search(rf"\b{re.escape(alias)}\.", body):
            lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    source = Path(sys.argv[1])
    keep = packages_for(source)
    keep_lines(source / PACKAGES_LIST, keep)
    # The provider's own packages the build now reaches (kept services import a few others), by `go list`.
    listed = subprocess.run(
        ["go", "list", "-deps", "-f", "{{.Dir}}", "."], cwd=source, capture_output=True, text=True, check=True
    )
    called: set[str] = set()
    for directory in map(Path, listed.stdout.split()):
        if directory.is_relative_to(source) and directory != source / CLIENTS.parent:
            for go_file in directory.glob("*.go"):
                if not go_file.name.endswith("_test.go"):
                    called |= set(CLIENT_CALL.findall(go_file.read_text(errors="replace")))
    trim_clients(source, called)
    subprocess.run(["gofmt", "-w", str(source / CLIENTS), str(source / PACKAGES_LIST)], check=True)
    print(f"kept {len(keep)} service packages: {' '.join(sorted(keep))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
