"""Golden tests: jenkins/jobs rendered offline by Jenkins Job Builder, asserting what matters in the XML."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from jenkins_standin import JOBS_DIR, ROOT, render

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
        "IMAGE_SCANNER",
    ]
    # Who may approve is never a build parameter: whoever starts a build must not choose their approvers.
    assert not any("APPROVER" in name for name in params)
    defaults = {name: p.findtext("defaultValue") or "" for name, p in params.items()}
    assert defaults["CUSTOMER"] == "example"
    assert defaults["SERVICE"] == "cart"
    assert defaults["GANTRY_CONFIG"] == "environments/example/local.yaml"
    assert defaults["SHA"] == ""


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
    assert text(job, "assignedNode") == "gantry"


def test_source_mirror_runs_on_push_and_on_a_schedule_and_fails_loudly(rendered_jobs: Path) -> None:
    job = load(rendered_jobs, "example-source-mirror")
    assert triggers(job) == {"SCMTrigger": "H H(0-3) * * *", "TimerTrigger": "H/30 * * * *"}
    commands = shell(job)
    assert "gantry mirror" in commands
    assert "|| true" not in commands
    assert "set -euo pipefail" in commands


def test_dr_drill_is_monthly_against_the_aws_configuration(rendered_jobs: Path) -> None:
    job = load(rendered_jobs, "example-dr-drill")
    assert triggers(job) == {"TimerTrigger": "H H(2-5) H(1-7) * *"}
    assert "gantry dr drill --report dr-drill-report.json" in shell(job)
    assert text(job, "publishers/hudson.tasks.ArtifactArchiver/artifacts") == "dr-drill-report.json"
    assert parameters(job)["GANTRY_CONFIG"].findtext("defaultValue") == "environments/example/aws.yaml"


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
    assert "submitter: 'approvers'" in script
    assert "submitterParameter: 'APPROVER'" in script
    assert script.index("milestone(ordinal: 10") < script.index("input(") < script.index("milestone(ordinal: 20")
    assert 'gantry approve --approver "$APPROVER"' in script
    assert script.index("stage('Approval')") < script.index("stage('Playbook')")
    assert "--check --diff" in script
    assert '-e "target=env_$TARGET_ENV" --limit "$LIMIT"' in script


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
        "    approvers_group: acme-approvers\n    jobs:\n      - '{customer}-jobs'\n"
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
    assert params["GANTRY_CONFIG"].findtext("defaultValue") == "environments/acme/aws.yaml"
    assert "submitter: 'acme-approvers'" in text(load(out, "acme-ansible-maintenance"), "definition/script")
