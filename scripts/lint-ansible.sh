#!/usr/bin/env bash
# Static checks for ansible/: yamllint (project rules), ansible-playbook --syntax-check on every playbook,
# ansible-lint with the production profile (offline: no Galaxy, no network). Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible/ansible.cfg"
export ANSIBLE_HOME="${GANTRY_TOOLS_CACHE:-$HOME/.cache/gantry-tools}/ansible/ansible-home"
mkdir -p "$ANSIBLE_HOME"

# The project's yamllint rules (same as the repository .yamllint), inline so this check stands alone.
yamllint_config='{extends: default, rules: {line-length: {max: 120}, truthy: {check-keys: false},
  comments-indentation: disable, document-start: disable}}'
echo "lint-ansible: yamllint"
yamllint -s -d "$yamllint_config" ansible/

echo "lint-ansible: syntax-check"
cd ansible
for pb in playbooks/*.yml playbooks/maintenance/*.yml; do
  ansible-playbook --syntax-check -i inventories/local/hosts.yml -e golden_image_kind=container "$pb" >/dev/null \
    || { echo "lint-ansible: syntax-check failed: $pb"; exit 1; }
done

echo "lint-ansible: ansible-lint (production profile)"
ansible-lint --offline --profile production --strict -q playbooks/ roles/ molecule/
echo "lint-ansible: ok"
