"""The controller as code: casc/jenkins.yaml, plugins.txt and the Dockerfile, checked without a controller.

No Jenkins distribution is reachable here, so these tests validate structure and policy (secrets only as
placeholders, least permissions for approvers, agent labels, pinned plugins covering every step the pipelines
use); the configuration-as-code plugin's own schema check happens when the image starts.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jenkins_standin import ROOT

JENKINS = ROOT / "jenkins"
PLACEHOLDER = re.compile(r"^\$\{[A-Z][A-Z0-9_]*\}$")
SECRET_KEYS = {"password", "secret", "managerPasswordSecret", "privateKey", "token"}


@pytest.fixture(scope="module")
def casc() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((JENKINS / "casc" / "jenkins.yaml").read_text())
    return data


def walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from walk(item, f"{path}[{index}]")


def plugins() -> dict[str, str]:
    lines = [line.strip() for line in (JENKINS / "plugins.txt").read_text().splitlines()]
    entries = [line for line in lines if line and not line.startswith("#")]
    pinned = dict(entry.split(":", 1) for entry in entries)
    assert len(pinned) == len(entries), "a plugin is listed twice"
    assert entries == sorted(entries), "keep plugins.txt sorted"
    return pinned


def test_every_secret_is_a_placeholder(casc: dict[str, Any]) -> None:
    secrets = [(path, key, value) for path, key, value in walk(casc) if key in SECRET_KEYS]
    assert len(secrets) >= 4
    for path, key, value in secrets:
        assert isinstance(value, str) and PLACEHOLDER.match(value), f"{path}.{key} must be a ${{PLACEHOLDER}}"


def test_controller_runs_no_builds_and_is_hardened(casc: dict[str, Any]) -> None:
    jenkins = casc["jenkins"]
    assert jenkins["numExecutors"] == 0
    assert "standard" in jenkins["crumbIssuer"]
    assert jenkins["disableRememberMe"] is True
    assert jenkins["securityRealm"]["ldap"]["configurations"][0]["server"] == "${LDAP_URL}"


def roles(casc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {role["name"]: role for role in casc["jenkins"]["authorizationStrategy"]["roleBased"]["roles"]["global"]}


def test_approvers_have_only_what_the_input_step_needs(casc: dict[str, Any], rendered_jobs: Path) -> None:
    by_name = roles(casc)
    granted = [role for role in by_name.values() if {"group": "approvers"} in role["entries"]]
    assert [role["name"] for role in granted] == ["approver"]
    # A listed submitter needs to reach the build and nothing more (pipeline-input-step's canSettle checks the
    # submitter list; Job/Build counts only for an input without one). Approvers start no builds.
    assert by_name["approver"]["permissions"] == ["Overall/Read", "Job/Read"]
    # So every approval input must name its submitters, taken from `gantry approvers`: an input without a list
    # would be open to every developer (Job/Build) and closed to the approvers.
    # Parsing XML that our own jenkins-jobs run rendered, not untrusted input.
    maintenance = ET.parse(rendered_jobs / "example-ansible-maintenance" / "config.xml").getroot()  # noqa: S314
    for name, script in {
        "Jenkinsfile": (ROOT / "Jenkinsfile").read_text(),
        "ansible-maintenance": maintenance.findtext("definition/script") or "",
    }.items():
        inputs = re.findall(r"\binput\((.*?)\)\s*\n\s*env\.APPROVER = ", script, re.S)
        assert len(inputs) == script.count("input(") == 1, name
        assert "submitter: env.APPROVERS," in inputs[0], name
        assert "env.APPROVERS = " in script, name
        assert "approvers --env production'" in script, name
    items = {role["name"]: role for role in casc["jenkins"]["authorizationStrategy"]["roleBased"]["roles"]["items"]}
    assert "Job/Build" in items["developer-builds"]["permissions"]


def test_only_operators_start_a_drill_and_nobody_replays(casc: dict[str, Any]) -> None:
    """Developers start builds (they run to the approval gate) but not the DR drill, which moves production;
    operators start the drill. Nobody may replay a build with another pipeline script."""
    strategy = casc["jenkins"]["authorizationStrategy"]["roleBased"]["roles"]
    items = {role["name"]: role for role in strategy["items"]}
    builds = re.compile(items["developer-builds"]["pattern"])
    drills = re.compile(items["operator-drills"]["pattern"])
    for job in ("example-cart-pipeline", "example-ansible-maintenance", "example-source-mirror"):
        assert builds.fullmatch(job) and not drills.fullmatch(job), job
    assert not builds.fullmatch("example-dr-drill") and drills.fullmatch("example-dr-drill")
    assert items["operator-drills"]["entries"] == [{"group": "operators"}]
    assert not any("Job/Build" in role["permissions"] for role in strategy["global"] if role["name"] != "admin")
    every = [p for role in [*strategy["global"], *strategy["items"]] for p in role["permissions"]]
    assert not any(p.startswith("Run/Replay") for p in every)


def test_nobody_anonymous_may_act(casc: dict[str, Any]) -> None:
    by_name = roles(casc)
    for role in by_name.values():
        assert {"group": "anonymous"} not in role["entries"]
        assert {"user": "anonymous"} not in role["entries"]
    assert by_name["reader"]["permissions"] == ["Overall/Read", "Job/Read"]
    # The seed job's account manages jobs but cannot administer the controller.
    assert "Overall/Administer" not in by_name["job-builder"]["permissions"]


def test_build_and_release_agents_are_separate_nodes(casc: dict[str, Any]) -> None:
    nodes = {node["permanent"]["name"]: node["permanent"] for node in casc["jenkins"]["nodes"]}
    labels = {name: set(node["labelString"].split()) for name, node in nodes.items()}
    builders = [name for name, found in labels.items() if "gantry-build" in found]
    releasers = [name for name, found in labels.items() if "gantry-release" in found]
    assert builders and releasers and not set(builders) & set(releasers)
    # Only jobs that ask for the release label run on a release agent.
    assert all(nodes[name]["mode"] == "EXCLUSIVE" for name in releasers)
    jenkinsfile = (ROOT / "Jenkinsfile").read_text()
    assert "label 'gantry-build'" in jenkinsfile and "label 'gantry-release'" in jenkinsfile
    assert "agent_label: gantry-build" in (JENKINS / "jobs" / "defaults.yaml").read_text()


def test_credentials_used_by_jobs_are_defined(casc: dict[str, Any], rendered_jobs: Path) -> None:
    defined = {
        next(iter(entry.values()))["id"]
        for domain in casc["credentials"]["system"]["domainCredentials"]
        for entry in domain["credentials"]
    }
    used = set()
    for config in rendered_jobs.glob("*/config.xml"):
        used.update(re.findall(r"<credentialsId>([^<]+)</credentialsId>", config.read_text()))
    assert used
    assert used <= defined


def test_production_locks_match_the_jenkinsfile(casc: dict[str, Any]) -> None:
    declared = {r["name"] for r in casc["unclassified"]["lockableResourcesManager"]["declaredResources"]}
    assert declared == {"example-production-primary", "example-production-secondary"}
    jenkinsfile = (ROOT / "Jenkinsfile").read_text()
    assert 'lock(resource: "${params.CUSTOMER}-production-primary")' in jenkinsfile
    assert 'lock(resource: "${params.CUSTOMER}-production-secondary")' in jenkinsfile


def test_plugins_are_pinned_and_cover_what_the_pipelines_use() -> None:
    pinned = plugins()
    for plugin, version in pinned.items():
        assert re.fullmatch(r"[a-z0-9-]+", plugin), plugin
        assert re.fullmatch(r"[0-9][0-9A-Za-z._-]*", version), f"{plugin} must be pinned to a version"
        assert version.lower() not in {"latest", "experimental"}
    required = {
        "configuration-as-code",  # casc/jenkins.yaml
        "role-strategy",
        "ldap",  # authorizationStrategy.roleBased, securityRealm.ldap
        "workflow-aggregator",
        "pipeline-model-definition",
        "workflow-job",
        "workflow-cps",  # Jenkinsfile
        "pipeline-input-step",
        "pipeline-milestone-step",
        "lockable-resources",  # approval gate, locks
        "pipeline-stage-view",  # wfapi/pendingInputActions used by gantry jenkins approve
        "git",
        "credentials-binding",
        "timestamper",  # job templates
    }
    assert required <= set(pinned)


def test_dockerfile_installs_the_pinned_plugins_and_casc() -> None:
    dockerfile = (JENKINS / "Dockerfile").read_text()
    base = re.search(r"^ARG JENKINS_IMAGE=(\S+)$", dockerfile, re.M)
    assert base is not None
    assert re.search(r":\d+\.\d+\.\d+-lts", base.group(1)), "pin an LTS release, not a moving tag"
    assert "jenkins-plugin-cli --plugin-file" in dockerfile
    assert "CASC_JENKINS_CONFIG=" in dockerfile
    assert "runSetupWizard=false" in dockerfile
    assert "\nUSER jenkins" in dockerfile
    assert not re.search(r"(?i)(password|token)=", dockerfile)
