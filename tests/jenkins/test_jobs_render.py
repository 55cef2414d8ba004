"""Golden tests: jenkins/jobs rendered offline by Jenkins Job Builder, asserting what matters in the XML."""

from __future__ import annotations

import re
import shlex
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import pytest
from jenkins_standin import JOBS_DIR, ROOT, render

from gantry.cli import cli

SERVICE = "example-cart-pipeline"


def load(rendered: Path, job: str) -> ET.Element:
    # Parsing XML that our own jenkins-jobs run just rendered, not untrusted input.
    return ET.parse(rendered / job / "config.xml").getroot()  # noqa: S314


def text(root: ET.Element, path: str) -> str:
    node = root.find(path)
    assert node is not None, f"{path} missing"
    return node.text or ""


def parameters(root: ET.Element) -> dict[str, ET.Element]:
    defs = root.find("properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions")
    assert defs is not None
    return {text(p, "name"): p for p in defs}


def shell(root: ET.Element) -> str:
    return "\n".join(node.text or "" for node in root.iter("command"))


def triggers(root: ET.Element) -> dict[str, str]:
    found = root.find("triggers")
    if found is None:
        pipeline_triggers = "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty"
        found = root.find(f"properties/{pipeline_triggers}/triggers")
    assert found is not None
    return {t.tag.rsplit(".", 1)[-1]: t.findtext("spec", "") for t in found}


def test_every_job_renders(rendered_jobs: Path) -> None:
    assert {p.name for p in rendered_jobs.iterdir()} == {
        SERVICE,
        "example-image-rebuild",
        "example-source-mirror",
        "example-dr-drill",
        "example-ansible-maintenance",
        "jenkins-jobs-seed",
    }


def test_service_pipeline_runs_the_repository_jenkinsfile(rendered_jobs: Path) -> None:
    job = load(rendered_jobs, SERVICE)
    assert job.tag == "flow-definition"
    definition = job.find("definition")
    assert definition is not None
    assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
    assert text(definition, "scriptPath") == "Jenkinsfile"
    assert text(definition, "lightweight") == "true"
    assert text(definition, "sandbox") == "true"
    assert text(definition, "scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/credentialsId") == "gantry-git"
    assert text(definition, "scm/branches/hudson.plugins.git.BranchSpec/name") == "main"


def test_service_pipeline_has_no_concurrent_builds_and_discards_old_ones(rendered_jobs: Path) -> None:
    job = load(rendered_jobs, SERVICE)
    props = job.find("properties")
    assert props is not None
    assert props.find("org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty") is not None
    assert text(props, "jenkins.model.BuildDiscarderProperty/strategy/numToKeep") == "50"
    assert text(props, "jenkins.model.BuildDiscarderProperty/strategy/daysToKeep") == "30"


def test_service_pipeline_parameters_come_from_the_project(rendered_jobs: Path) -> None:
    params = parameters(load(rendered_jobs, SERVICE))
    assert list(params) == [
        "CUSTOMER",
        "SERVICE",
        "GANTRY_CONFIG",
        "SHA",
        "APPROVAL_TIMEOUT_MINUTES",
    ]
    # Who may approve is never a build parameter: whoever starts a build must not choose their approvers.
    assert not any("APPROVER" in name for name in params)
    # The customer, the service and the configuration are job constants: one-choice parameters (Jenkins refuses
    # any other value when a build starts).
    constants = {
        name: [c.text for c in params[name].iter("string")] for name in ("CUSTOMER", "SERVICE", "GANTRY_CONFIG")
    }
    assert constants == {
        "CUSTOMER": ["example"],
        "SERVICE": ["cart"],
        "GANTRY_CONFIG": ["environments/example/local.yaml"],
    }
    assert all(params[name].tag == "hudson.model.ChoiceParameterDefinition" for name in constants)
    defaults = {name: params[name].findtext("defaultValue") or "" for name in ("SHA", "APPROVAL_TIMEOUT_MINUTES")}
    assert defaults == {"SHA": "", "APPROVAL_TIMEOUT_MINUTES": "60"}


def test_service_pipeline_parameters_are_what_the_jenkinsfile_reads(rendered_jobs: Path) -> None:
    jenkinsfile = (ROOT / "Jenkinsfile").read_text()
    block = re.search(r"\n  parameters \{\n(.*?)\n  \}\n", jenkinsfile, re.S)
    assert block is not None, "the Jenkinsfile declares its parameters"
    declared = re.findall(r"(?:string|choice)\(name: '([A-Z_]+)'", block.group(1))
    # The Jenkinsfile re-declares exactly the job's parameters, in the same order.
    assert declared == list(parameters(load(rendered_jobs, SERVICE)))
    body = jenkinsfile.replace(block.group(0), "\n")
    read = set(re.findall(r"params\.([A-Z_]+)", body))
    assert read <= set(declared), f"the Jenkinsfile reads parameters the job lacks: {read - set(declared)}"
    # Every parameter is used by the pipeline itself; GANTRY_CONFIG also by every gantry command it runs (the
    # approver is shown it too).
    config = next(p for p in cli.params if p.name == "config")
    assert isinstance(config, click.Option)
    assert config.envvar == "GANTRY_CONFIG"
    assert set(declared) - read == set()
    assert "IMAGE_SCANNER" not in jenkinsfile


def test_service_pipeline_triggers_on_push(rendered_jobs: Path) -> None:
    job = load(rendered_jobs, SERVICE)
    scm_trigger = job.find(".//hudson.triggers.SCMTrigger")
    assert scm_trigger is not None
    # notifyCommit from the git hook is honoured only when post-commit hooks are not ignored.
    assert text(scm_trigger, "ignorePostCommitHooks") == "false"


def test_image_rebuild_is_weekly_and_bakes_both_images(rendered_jobs: Path) -> None:
    job = load(rendered_jobs, "example-image-rebuild")
    assert triggers(job) == {"TimerTrigger": "H H(2-5) * * 1"}
    commands = shell(job)
    assert "gantry bake --target ami" in commands
    assert "gantry bake --target container" in commands
    assert parameters(job)["GANTRY_CONFIG"].findtext("defaultValue") == "environments/example/aws.yaml"
    assert 'export GANTRY_RUN_ID="$BUILD_TAG"' in commands
    assert "set -euo pipefail" in commands
    assert text(job, "concurrentBuild") == "false"
    assert text(job, "assignedNode") == "gantry-build"


def test_source_mirror_runs_on_push_and_on_a_schedule_and_fails_loudly(rendered_jobs: Path) -> None:
    job = load(rendered_jobs, "example-source-mirror")
    assert triggers(job) == {"SCMTrigger": "H H(0-3) * * *", "TimerTrigger": "H/30 * * * *"}
    commands = shell(job)
    assert "gantry mirror" in commands
    assert "|| true" not in commands
    assert "set -euo pipefail" in commands


def test_dr_drill_runs_on_the_release_agent_with_a_pasted_single_use_approval(rendered_jobs: Path) -> None:
    """A drill moves production's writer: an operator starts it (no timer: each drill needs its approval), on the
    release agents with the release credentials; gantry verifies the pasted approval and uses it once."""
    job = load(rendered_jobs, "example-dr-drill")
    assert job.find("triggers") is None or not list(job.find("triggers"))  # type: ignore[arg-type]
    assert text(job, "assignedNode") == "gantry-release"
    commands = shell(job)
    imported = "gantry dr approve --env production --operation dr-drill --param mode=planned --import dr-approval.json"
    drill = "gantry dr drill --env production --mode planned --report dr-drill-report.json"
    assert imported in commands and drill in commands and commands.index(imported) < commands.index(drill)
    assert text(job, "publishers/hudson.tasks.ArtifactArchiver/artifacts") == "dr-drill-report.json"
    params = parameters(job)
    assert [c.text for c in params["GANTRY_CONFIG"].iter("string")] == ["environments/example/aws.yaml"]
    assert "SIGNED_APPROVAL" in params
    bindings = job.findall(".//org.jenkinsci.plugins.credentialsbinding.impl.FileBinding")
    assert [b.findtext("credentialsId") for b in bindings] == ["example-gantry-release"]


def gantry_commands(script: str, prefix: str) -> list[str]:
    """The gantry commands a pipeline script runs with sh, concatenated string pieces joined."""
    joined = re.sub(r"'\s*\+\s*'", "", script)
    return [m for m in re.findall(r"sh\(?'(gantry [^']*)'", joined) if m.startswith(prefix)]


def test_ansible_maintenance_parameters_and_production_approval(rendered_jobs: Path) -> None:
    job = load(rendered_jobs, "example-ansible-maintenance")
    params = parameters(job)
    assert list(params) == ["TARGET_ENV", "PLAYBOOK", "LIMIT", "CHECK_MODE"]
    choices = [c.text for c in params["TARGET_ENV"].iter("string")]
    assert choices == ["staging", "production"]
    playbooks = [c.text for c in params["PLAYBOOK"].iter("string")]
    assert playbooks == ["patch.yml", "restart-service.yml", "logrotate.yml", "docker-prune.yml"]
    for playbook in playbooks:
        assert (ROOT / "ansible" / "playbooks" / "maintenance" / str(playbook)).is_file(), playbook
    assert (ROOT / "ansible" / "inventories" / "aws").is_dir()
    assert params["CHECK_MODE"].tag == "hudson.model.BooleanParameterDefinition"
    assert params["CHECK_MODE"].findtext("defaultValue") == "true"
    script = text(job, "definition/script")
    assert text(job, "definition/sandbox") == "true"
    assert "params.TARGET_ENV == 'production' && !params.CHECK_MODE" in script
    # Who may approve comes from the target (`gantry approvers`), never from a list kept in Jenkins.
    assert "gantry approvers --env production" in script
    assert "submitter: env.APPROVERS" in script
    assert "submitter: '" not in script
    assert "--check --diff" in script
    # Production hosts are reached from the release agents only, with the release credentials.
    assert "agent { label 'gantry-release' }" in script
    assert "AWS_SHARED_CREDENTIALS_FILE = credentials('example-gantry-release')" in script
    assert '-e "target=env_$TARGET_ENV" --limit "$LIMIT"' in script
    # The signed maintenance approval is imported, then checked again before ansible-playbook runs.
    assert script.index("gantry maintenance approve") < script.index("gantry maintenance check")
    assert script.index("gantry maintenance check") < script.index("ansible-playbook")
    # (JenkinsPipelineUnit runs this script: jenkins/pipeline-tests/.../MaintenancePipelineTest.groovy.)


def test_ansible_maintenance_calls_gantry_maintenance_as_the_cli_defines_it(
    rendered_jobs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = text(load(rendered_jobs, "example-ansible-maintenance"), "definition/script")
    monkeypatch.chdir(tmp_path)  # the workspace, with the file the approval step writes
    (tmp_path / "maintenance-approval.json").write_text("")
    commands = gantry_commands(script, "gantry maintenance ")
    assert [c.split()[2] for c in commands] == ["approve", "check"]
    group = cli.commands["maintenance"]
    assert isinstance(group, click.Group)
    for command in commands:
        # Shell variables stand for the build's values; parsing with the real CLI rejects unknown or
        # missing options.
        args = shlex.split(re.sub(r"\$\([^)]*\)|\$[A-Z_]+", "x", command))[2:]
        subcommand = group.commands[args[0]]
        with subcommand.make_context(args[0], args[1:]) as ctx:
            assert ctx.params["env"] == "production"
            assert ctx.params["submitter"] == "x", f"{command}: must name the approving user"
    assert "--import maintenance-approval.json" in commands[0]
    assert "writeFile(file: 'maintenance-approval.json'" in script


def test_seed_job_applies_the_yaml_with_job_builder(rendered_jobs: Path) -> None:
    job = load(rendered_jobs, "jenkins-jobs-seed")
    assert "gantry jenkins sync --delete-old" in shell(job)
    binding = job.find(".//org.jenkinsci.plugins.credentialsbinding.impl.UsernamePasswordMultiBinding")
    assert binding is not None
    assert text(binding, "credentialsId") == "jenkins-job-builder"
    assert "SCMTrigger" in triggers(job)


def test_rendered_jobs_hold_no_secrets(rendered_jobs: Path) -> None:
    for config in rendered_jobs.glob("*/config.xml"):
        body = config.read_text()
        assert "<password>" not in body
        assert "<secret>" not in body


def test_a_new_customer_is_one_project_block(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    shutil.copytree(JOBS_DIR, jobs)
    (jobs / "acme.yaml").write_text(
        "- project:\n    name: acme\n    customer: acme\n    service: billing\n    config_env: aws\n"
        "    jobs:\n      - '{customer}-jobs'\n"
    )
    out = tmp_path / "out"
    render(jobs, out)
    assert {p.name for p in out.iterdir() if p.name.startswith("acme-")} == {
        "acme-billing-pipeline",
        "acme-image-rebuild",
        "acme-source-mirror",
        "acme-dr-drill",
        "acme-ansible-maintenance",
    }
    params = parameters(load(out, "acme-billing-pipeline"))
    assert [c.text for c in params["GANTRY_CONFIG"].iter("string")] == ["environments/acme/aws.yaml"]
    maintenance = text(load(out, "acme-ansible-maintenance"), "definition/script")
    assert 'GANTRY_CONFIG = "environments/acme/aws.yaml"' in maintenance
    # acme's approvers come from acme's targets through `gantry approvers`: nothing to list per customer here.
    assert "submitter: env.APPROVERS" in maintenance
