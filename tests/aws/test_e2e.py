"""The aws target as a whole, as users run it: `gantry pipeline run` from a state with no .gantry/, then the
Jenkinsfile's own gantry commands on a fresh agent, through the real CLI against the local AWS API (a moto
server process, two regions).

moto answers every AWS API call; what it does not run is stood in by real components (tests/aws/standins.py
says exactly how): ECR's registry and replication by docker-registry processes and skopeo, ECS's scheduler
by real containers of the image the pipeline built behind real HAProxy load balancers, reported back through
a proxy in front of moto; the Aurora global database by one real PostgreSQL on 127.0.0.1 (the migrate stage
provisions it through the master secret and migrates it; the tasks get their secret as ECS would).
The build, the push, the approvals (SSH signatures against the stack's policy
parameter), the leases (DynamoDB conditional writes), the records (SSM) and the notifications (SNS) are the
aws target's own code against moto. Every AWS request the gantry processes make is recorded, and the last test
checks each against the deploy role's policy as Terraform renders it (tests/aws/least_privilege.py).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jenkinsfile
import least_privilege
import pytest
import requests
import yaml
from aws_stack import ACCOUNT, APPROVERS, PRIMARY, SECONDARY, aurora_stand_in, client, moto_server, provision
from standins import EcrDataPlane, EcsScheduler, MotoFront, ServiceRun, stand_in_alb

from gantry.host import engine, podman, ports, processes, sshsig
from gantry.targets.local.layout import socket_dir

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
GANTRY = ROOT / ".venv" / "bin" / "gantry"
BASE_IMAGE = "localhost/gantry/debian-base:bookworm"
APPROVER = "bob@example.com"
SERVICES = [(PRIMARY, "staging"), (PRIMARY, "production"), (SECONDARY, "production")]


@dataclass
class World:
    repo: Path
    home: Path
    config: Path
    env: dict[str, str]
    keys: dict[str, Path]
    moto: str
    albs: dict[tuple[str, str], str]
    raw: dict[str, Any]
    calls: Path  # what the gantry processes asked of AWS (least_privilege.recording_environment)

    def gantry(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(GANTRY), *args], cwd=self.repo, env=self.env, capture_output=True, text=True, timeout=900
        )
        if ok and result.returncode != 0:
            raise AssertionError(f"gantry {' '.join(args)} failed:\n{result.stderr[-4000:]}")
        return result

    def gantry_at(self, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """gantry with another run directory (an agent's)."""
        env = {**self.env, "GANTRY_HOME": str(home), "GANTRY_RUN_ID": "jenkins-example-cart-pipeline-7"}
        return subprocess.run(
            [str(GANTRY), *args], cwd=self.repo, env=env, capture_output=True, text=True, timeout=120, check=True
        )

    def serving(self, region: str, env: str) -> str:
        digest: str = requests.get(f"{self.albs[(region, env)]}/version", timeout=5).json()["digest"]
        return digest


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not GANTRY.exists():
        pytest.skip("the virtualenv is missing: run `make bootstrap` (make test does)")
    if subprocess.run(["podman", "image", "exists", BASE_IMAGE], env=podman.cli_environment()).returncode != 0:
        pytest.skip(f"{BASE_IMAGE} is missing: run scripts/setup-ansible.sh (make test runs it first)")
    base = tmp_path_factory.mktemp("aws-e2e")
    home = base / "home"  # the gantry under test's run directory: it does not exist before the first run
    # The stand-ins keep their own processes (HAProxy, a podman service) in a run directory of their own.
    standins = base / "standins"
    saved = {k: os.environ.get(k) for k in ("GANTRY_HOME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(GANTRY_HOME=str(standins), AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    keys = {who: base / "keys" / who.split("@")[0] for who in APPROVERS}
    for who, key in keys.items():
        sshsig.generate(key, who)
    signers = "".join(sshsig.allowed_signer_line(w, k.with_name(k.name + ".pub").read_text()) for w, k in keys.items())
    with moto_server() as moto, aurora_stand_in(base / "aurora") as database:
        albs = {key: f"http://127.0.0.1:{ports.free_port(24600 + 10 * i, 24700)}" for i, key in enumerate(SERVICES)}
        raw = provision(moto, albs, base, signers, separation_of_duties=True, database=database)
        for region in (PRIMARY, SECONDARY):  # what `gantry bake --target container` publishes to
            client(moto, "ecr", region).create_repository(repositoryName="example/golden-base")
        ecr = EcrDataPlane(moto, ACCOUNT, [PRIMARY, SECONDARY], base, (24400, 24500))
        ecr.start()
        golden = f"{ecr.registries[PRIMARY]}/example/golden-base:bookworm"
        subprocess.run(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                f"containers-storage:{BASE_IMAGE}",
                f"docker://{golden}",
            ],
            env=podman.cli_environment(),
            check=True,
        )
        sockets = socket_dir(standins)
        runs = []
        for region, env in SERVICES:
            service = raw["aws"]["regions"][region]["environments"][env]
            port = int(albs[(region, env)].rsplit(":", 1)[1])
            balancer = stand_in_alb(f"alb-{region}-{env}", base / f"alb-{region}-{env}", sockets, port)
            runs.append(ServiceRun(region, service["cluster"], service["service"], balancer))
        scheduler = EcsScheduler(moto, runs, ecr.endpoints(), standins, database.socket_dir)
        front = MotoFront(moto, scheduler, ports.free_port(24500, 24600))
        raw["aws"].update(
            endpoint_url=front.url,
            registry_endpoints=ecr.endpoints(),
            base_image={"repository": "example/golden-base", "tag": "bookworm"},
            replication_timeout_seconds=60,
            deploy_timeout_seconds=180,
            poll_seconds=0.5,
        )
        raw["approvals"].pop("demo_signer", None)
        raw["notifications"] = {"file": "notifications.jsonl", "sns_topic_arn": raw["notifications"]["sns_topic_arn"]}
        config = base / "aws.yaml"
        config.write_text(yaml.safe_dump(raw))
        repo = base / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        for key, value in (("user.email", "ci@gantry.invalid"), ("user.name", "gantry tests")):
            subprocess.run(["git", "-C", str(repo), "config", key, value], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GANTRY_", "DOCKER_HOST"))}
        env.update(
            GANTRY_ROOT=str(repo),
            GANTRY_HOME=str(home),
            GANTRY_CONFIG=str(config),
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
            **podman.environment(),
        )
        calls = base / "calls"
        env = least_privilege.recording_environment(env, calls)
        scheduler.start()
        try:
            yield World(repo, home, config, env, keys, moto, {k: v for k, v in albs.items()}, raw, calls)
            assert scheduler.errors == [] and ecr.errors == [], scheduler.errors + ecr.errors
        finally:
            scheduler.stop()
            front.close()
            ecr.stop()
            local = {**env, "GANTRY_CONFIG": str(ROOT / "environments/example/local.yaml")}
            for directory in (home, standins):  # their podman services and leftover containers
                subprocess.run([str(GANTRY), "down"], cwd=repo, env={**local, "GANTRY_HOME": str(directory)})
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def test_pipeline_run_on_aws_from_a_fresh_agent(world: World) -> None:
    """No .gantry/ yet: the run makes everything it needs (base image resolved from ECR, build context from
    CodeCommit), and ships to staging and both production regions."""
    assert not world.home.exists()
    result = world.gantry("pipeline", "run", "--approver", APPROVER, "--key", str(world.keys[APPROVER]))
    record: dict[str, Any] = json.loads(world.gantry("run", "show").stdout)
    assert record["result"] == "success" and record["target"] == "aws"
    digest = record["digest"]
    assert record["base_image"].startswith(f"{ACCOUNT}.dkr.ecr.{PRIMARY}.amazonaws.com/example/golden-base@sha256:")
    for region in (PRIMARY, SECONDARY):
        images = client(world.moto, "ecr", region).describe_images(repositoryName="example/cart")["imageDetails"]
        assert digest in {i["imageDigest"] for i in images}, f"{region} lacks {digest}"
    assert [world.serving(r, e) for r, e in SERVICES] == [digest] * 3
    assert record["approval"]["approver"] == APPROVER
    stages = [s["name"] for s in record["stages"]]
    assert stages[:3] == ["source", "mirror source", "base image"] and "deploy production" in stages
    assert "us-east-1 updated, us-west-2 updated" in result.stderr
    # What an operator looks at afterwards, as the build identity: every environment's release and health.
    status = json.loads(world.gantry("status", "--json").stdout)
    assert {(r["environment"], r["region"], r["digest"]) for r in status["releases"]} == {
        (env, region, digest) for region, env in SERVICES
    }
    # The deploy lease was taken and given back through DynamoDB; the release history went to SSM.
    lease = client(world.moto, "dynamodb", PRIMARY).get_item(
        TableName="example-terraform-locks", Key={"LockID": {"S": "gantry/example/production"}}
    )["Item"]
    assert "lease_token" not in lease and json.loads(lease["intent"]["S"])["state"] == "finished"


def test_the_jenkinsfile_steps_on_aws(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Jenkinsfile's own gantry commands, in its order, on fresh agents made the way Jenkins makes them: the
    build agent's checkout is a detached HEAD on a commit no branch holds in the source copies (Jenkins checks
    out a commit, not a branch), and the release agent has a fresh clone of the protected branch, its own run
    directory and its own principal. Production's steps must get their release from the approval alone."""
    # A new commit on the protected branch (merged), then Jenkins' checkout of it: a detached HEAD and no local
    # branch at all, so only the run's own ref can carry the commit to the source copy.
    cart = world.repo / "services/cart/cart/__init__.py"
    cart.write_text(cart.read_text() + "# jenkins\n")
    identity = ["-c", "user.email=ci@gantry.invalid", "-c", "user.name=ci"]
    subprocess.run(["git", "-C", str(world.repo), *identity, "commit", "-qam", "jenkins build"], check=True)
    sha = subprocess.run(["git", "-C", str(world.repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    workspace = tmp_path / "gantry-build"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(world.repo), str(workspace)], check=True)
    subprocess.run(["git", "-C", str(workspace), "checkout", "-q", "--detach", sha.strip()], check=True)
    subprocess.run(["git", "-C", str(workspace), "branch", "-q", "-D", "main"], check=True)
    release = tmp_path / "gantry-release"
    subprocess.run(["git", "clone", "-q", "-b", "main", str(world.repo), str(release)], check=True)

    signer = ["--approver", APPROVER, "--key", str(world.keys[APPROVER])]
    signing = jenkinsfile.signing_approver(world.repo, APPROVER, signer, str(GANTRY))

    def approver(step_env: dict[str, str]) -> tuple[str, str]:
        # On bob's machine: the customer's environment file, his own checkout of the protected branch, his own
        # credentials (not an agent's: the least-privilege check tells them apart).
        mine = {"GANTRY_ROOT": str(world.repo), "GANTRY_HOME": str(tmp_path / "approver-home")}
        return signing({**world.env, **step_env, **mine, "GANTRY_TEST_PRINCIPAL": "approver"})

    agents = {}
    for label, checkout in (("gantry-build", workspace), ("gantry-release", release)):
        env = {**world.env, "GANTRY_ROOT": str(checkout), "GANTRY_HOME": str(tmp_path / f"{label}-home")}
        env.update(
            BUILD_TAG="jenkins-example-cart-pipeline-7",
            BUILD_URL="http://127.0.0.1:9/job/7/",
            GANTRY_RUN_ID="jenkins-example-cart-pipeline-7",
            GANTRY_TEST_PRINCIPAL=f"{label}-agent",
        )
        agents[label] = jenkinsfile.Agent(checkout, env, approver)
    build = jenkinsfile.Build(agents, {"BUILD_URL": "http://127.0.0.1:9/job/7/"})
    try:
        result = jenkinsfile.run(jenkinsfile.parse(ROOT / "Jenkinsfile"), build)
    finally:
        # Each agent's build started podman's API service under its own GANTRY_HOME (gantry/host/engine.py,
        # `--time=0`: it never exits by itself); stop them so no run leaves one behind.
        for label in agents:
            with monkeypatch.context() as scoped:
                scoped.setenv("GANTRY_HOME", str(tmp_path / f"{label}-home"))
                processes.stop(engine.SERVICE_NAME)
    log = [line for agent in agents.values() for line in agent.log]
    assert result == "SUCCESS", "\n".join(log[-6:])
    record = json.loads((workspace / "run-record.json").read_text())
    assert record["run_id"] == "jenkins-example-cart-pipeline-7" and record["result"] != "failed"
    assert record["sha"] == sha.strip()
    assert [world.serving(r, e) for r, e in SERVICES] == [record["digest"]] * 3
    # The release agent's own record: started by the approval it verified, never copied from the build agent.
    released = json.loads(world.gantry_at(tmp_path / "gantry-release-home", "run", "show").stdout)
    assert (released["sha"], released["digest"]) == (record["sha"], record["digest"])
    assert released["stages"][0]["name"] == "approve"
    # The approver may leave the paste empty when their approval is on record: a new release agent (its own run
    # directory, a new run) checks that the staged digest's approval on record is theirs and takes the release
    # from it; a digest nobody approved is refused.
    empty = tmp_path / "empty.json"
    empty.write_text("")
    importing = [str(GANTRY), "approve", "--env", "production", "--import", str(empty), "--submitter", APPROVER]
    for number, digest, ok in ((8, "sha256:" + "0" * 64, False), (9, record["digest"], True)):
        fresh = {**world.env, "GANTRY_ROOT": str(release), "GANTRY_HOME": str(tmp_path / f"release-home-{number}")}
        fresh.update(
            GANTRY_RUN_ID=f"jenkins-example-cart-pipeline-{number}", GANTRY_TEST_PRINCIPAL="gantry-release-agent"
        )
        done = subprocess.run(
            [*importing, "--digest", digest], cwd=release, env=fresh, capture_output=True, text=True, check=False
        )
        assert (done.returncode == 0) is ok, done.stderr
    shown = subprocess.run([str(GANTRY), "run", "show"], cwd=release, env=fresh, capture_output=True, text=True)
    second = json.loads(shown.stdout)
    assert (second["sha"], second["digest"]) == (record["sha"], record["digest"])


# Granted but not called by the runs above (the check below fails on any other unused grant): "action" for every
# identity granted it, "identity action" for one.
NOT_EXERCISED = {
    "staging cloudwatch:DescribeAlarms": "`gantry verify --env staging` (a pipeline run verifies production only)",
    "production sns:Publish": "the ansible-maintenance job's notices from a release agent (`gantry notify "
    "--identity production`), not part of a pipeline run",
    "iam:PassRole": "the test stack's services have no task roles (the Terraform stack's have)",
    "elasticloadbalancing:DescribeLoadBalancers": "only for an environment without `url` (the Terraform outputs "
    "always give one): tests/aws/test_source_smoke.py",
    "dynamodb:GetItem": "a lease's holder is read only when another process holds it, and by `gantry status`",
    "ecs:DescribeClusters": "`gantry up`'s doctor checks (tests/aws/test_drill_doctor.py)",
    "ecr:DescribeRegistry": "`gantry up`'s doctor checks",
    "cloudwatch:SetAlarmState": "the DR drill (tests/aws/test_failover.py), not part of a pipeline run",
    "cloudwatch:GetMetricStatistics": "the DR drill",
    "route53:GetHealthCheck": "the DR drill",
    "route53:GetHealthCheckStatus": "the DR drill",
    "route53:ListResourceRecordSets": "the DR drill",
    "route53:UpdateHealthCheck": "the DR drill",
    "rds:DescribeGlobalClusters": "the DR drill",
    "rds:FailoverGlobalCluster": "the DR drill",
    "rds:SwitchoverGlobalCluster": "the DR drill",
    "ssm:GetParametersByPath": "listing records: a rollback's release history and waiting for an approval",
}


def test_every_identity_is_granted_every_call_the_runs_made_and_nothing_more(world: World, tmp_path: Path) -> None:
    """Least privilege, proven on the two runs above: every AWS request their gantry processes made (botocore
    hooks; git and registry traffic as implied), under the role of the identity each command acted as, is
    allowed by that role's policy as Terraform renders it (modules/pipeline_iam), the records keys' policies and
    the production guard, as iam-simulate evaluates them; and each role holds nothing the runs did not use."""
    calls = least_privilege.load_calls(world.calls)
    roles = {c.get("role") for c in calls} - {None}
    rendered = least_privilege.rendered(tmp_path)
    assert roles == {rendered.arn(i) for i in ("build", "staging", "production")}, (
        f"run this test after the two runs above (it checks what they called); roles recorded: {sorted(roles)}"
    )
    failures, used = least_privilege.check_calls(calls, rendered)
    assert not failures, "a role lacks what gantry calls:\n" + "\n".join(failures)
    for identity, role in rendered.roles.items():
        granted = {a for s in role["policy"]["Statement"] if s["Effect"] == "Allow" for a in _listed(s["Action"])}
        excused = {a for a in NOT_EXERCISED if " " not in a} | {
            a.split(" ")[1] for a in NOT_EXERCISED if a.startswith(f"{identity} ")
        }
        unused = granted - used[identity] - excused
        assert not unused, f"{identity} is granted but never called {sorted(unused)}: remove them or say why"
    assert {"ssm:PutParameter", "ecs:RunTask", "secretsmanager:GetSecretValue"} <= used["production"]
    assert {"codecommit:GitPush", "sns:Publish"} <= used["build"]
    # Which agent acted as which identity: production only ever from the release agent, on the Jenkins run.
    jenkins = [c for c in calls if c["principal"] in ("gantry-build-agent", "gantry-release-agent") and c.get("role")]
    acted = {(c["principal"], rendered.identity_of(c["role"])) for c in jenkins}
    assert ("gantry-release-agent", "production") in acted and ("gantry-build-agent", "staging") in acted
    assert not {identity for agent, identity in acted if agent == "gantry-build-agent"} & {"production"}
    assert {identity for agent, identity in acted if agent == "gantry-release-agent"} == {"production"}
    # The approver signs with their own credentials and reads only.
    approver = {c["action"] for c in calls if c["principal"] == "approver" and c["kind"] == "api"}
    assert approver and all(a.split(":")[1].startswith(("Get", "Describe", "List")) for a in approver), approver


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]
