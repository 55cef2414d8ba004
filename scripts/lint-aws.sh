#!/usr/bin/env bash
# Static checks of the aws target: ruff (lint + format), mypy strict, yamllint on its example environment.
set -euo pipefail
cd "$(dirname "$0")/.."
PATHS=(gantry/targets/aws tests/aws)

.venv/bin/ruff check "${PATHS[@]}"
.venv/bin/ruff format --check "${PATHS[@]}"
.venv/bin/mypy gantry/targets/aws
if [ -f .yamllint ]; then
  .venv/bin/yamllint --strict environments/example/aws.yaml
else
  .venv/bin/yamllint --strict -d '{extends: default, rules: {line-length: {max: 120}, truthy: {check-keys: false},
    comments-indentation: disable, document-start: disable}}' environments/example/aws.yaml
fi
echo "lint-aws: ok"
