"""Least privilege, checked: the AWS requests gantry makes (recorded by callrecorder/sitecustomize.py during the aws
end-to-end runs) against the policies Terraform renders for the roles that make them.

Rendering is Terraform's own: a root in a scratch directory instantiates the repository's modules
(security_baseline for the deploy role and the approval-policy administrator, kms_key for the records key of
each region exactly as terraform/global passes it, ecs_cluster for the ECS nodes' role) with the names of the
stack the tests run against, and `terraform plan` + `terraform show -json` give the policy documents IAM and
KMS would receive. The AWS provider runs for real; its only API calls (the account ID, the AMI parameter) go to
the moto server on 127.0.0.1.

Each recorded call becomes the IAM requests AWS authorizes it by (`requests_for`): its action on the resource
its parameters name, with the condition keys AWS sets, plus what the service itself does with the caller's
permissions: the KMS use of SSM SecureString writes and decrypting reads (the records key), of Secrets Manager
(the database secret's key) and of DynamoDB (the lock table's key), iam:PassRole for a task definition's roles,
and ecs:TagResource for a tagged new task definition. A call this module has no rule for fails the check, so
new code cannot slip past it. The keys outside the records key (lock table, database secret) belong to other
roots and are not in the scratch root: their key policies are kms_key's account statement (the account's
IAM decides), so only the role's policy is evaluated for them.

What is allowed on Resource "*" is `UNSCOPED`: each entry is an action AWS cannot scope to a resource, with
why it may stay. Everything else must name resources.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iam_eval import Policy, Request, kms_decide

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "terraform" / "modules"
DEPLOY_ROLE = "pipeline"  # the jenkins_roles key in the scratch root: role <customer>-pipeline-jenkins
RECORDS_ALIAS = "gantry-records"  # terraform/global: alias/<customer>-gantry-records in each region

# Actions AWS does not scope to a resource (service authorization reference), the only ones a deploy role
# statement may grant on "*".
UNSCOPED = {
    "ecr:GetAuthorizationToken": "registry login; the token opens only the repositories granted by ARN",
    "ecr:DescribeRegistry": "reads the registry's replication rules (gantry doctor, `gantry up`)",
    "ecs:DescribeTaskDefinition": "read only",
    "ecs:RegisterTaskDefinition": "the one write: a revision runs nothing until UpdateService, scoped by ARN",
    "elasticloadbalancing:DescribeTargetGroups": "read only",
    "elasticloadbalancing:DescribeTargetHealth": "read only",
    "elasticloadbalancing:DescribeLoadBalancers": "read only",
    "cloudwatch:GetMetricStatistics": "read only (the DR drill's replication lag)",
}
# Requests that need no permission at all.
FREE = {"sts:GetCallerIdentity"}


# --- rendering -----------------------------------------------------------------------------------------
def role_inputs(raw: dict[str, Any], account: str) -> dict[str, Any]:
    """The deploy role's `jenkins_roles` entry for the stack an environment file (as a dict) describes: what
    terraform/global passes for an environment, with the names this stack uses."""
    aws, customer = raw["aws"], raw["customer"]
    regions = list(aws["regions"])
    primary = raw["regions"]["primary"]
    service = raw["service"]["name"]
    envs = list(raw["environments"])
    arn = f"arn:aws:{{}}:{{}}:{account}:{{}}"
    records_path = f"{aws.get('records_path', '/gantry')}/{customer}/records"
    policy_path = f"/gantry-approval-policy/{customer}"
    base = (aws.get("base_image") or {}).get("repository")
    database = aws.get("database")
    return {
        "ecr_repository_arns": [arn.format("ecr", r, f"repository/{aws['ecr_repository']}") for r in regions],
        "ecr_pull_repository_arns": [arn.format("ecr", primary, f"repository/{base}")] if base else [],
        "ecs_cluster_arns": [arn.format("ecs", r, f"cluster/{aws['regions'][r]['cluster']}") for r in regions],
        "ecs_service_arns": [
            arn.format("ecs", r, f"service/{aws['regions'][r]['cluster']}/{s['service']}")
            for r in regions
            for s in aws["regions"][r]["environments"].values()
        ],
        # gantry.taskdef's family when the stack names none: <customer>-<service>-<env>.
        "task_definition_arns": [
            arn.format("ecs", r, f"task-definition/{customer}-{service}-{env}:*") for r in regions for env in envs
        ],
        "pass_role_arns": [f"arn:aws:iam::{account}:role/gantry/{customer}/*"],
        "codecommit_arns": [arn.format("codecommit", r, aws["regions"][r]["source_repository"]) for r in regions],
        "sns_topic_arns": [raw["notifications"]["sns_topic_arn"]],
        # gantry verify reads the alarms named <customer>-<service>-<env>*.
        "alarm_arns": [
            arn.format("cloudwatch", r, f"alarm:{customer}-{service}-{env}*") for r in regions for env in envs
        ],
        "records_parameter_arns": [arn.format("ssm", r, f"parameter{records_path}/*") for r in regions],
        "approval_policy_parameter_arns": [arn.format("ssm", r, f"parameter{policy_path}/*") for r in regions],
        "lease_table_arn": arn.format("dynamodb", primary, f"table/{aws['lease_table']}"),
        "lease_key_prefix": f"gantry/{customer}/",
        # gantry migrate reads the master secret and the primary region's runtime-role secret (any version suffix).
        "migration_secret_arns": [
            f"{arn.rsplit('-', 1)[0]}-??????"
            for arn in (database["owner_secret_arn"], aws["regions"][primary]["database_secret_arn"])
        ]
        if database
        else [],
    }


@dataclass
class Rendered:
    account: str
    deploy_role: str  # ARN
    approver: str  # ARN of the approvers' principal in the key policies
    node_role: str  # ARN
    deploy: Policy
    approval_admin: Policy
    records_keys: dict[str, Policy]  # region -> key policy
    node_inline: Policy
    node_managed: list[str]  # ARNs of the AWS managed policies attached to the node role
    role: dict[str, Any]  # the inputs it was rendered with


def _root(account: str, regions: list[str]) -> str:
    """The scratch root; MODULES stands for terraform/modules, relative to the root's directory."""
    records = ", ".join(f'"{r}"' for r in regions)
    return f"""
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws", version = "~> 6.47" }}
  }}
}}

variable "endpoint" {{
  type = string
}}

variable "role" {{
  type = any
}}

provider "aws" {{
  region                      = "{regions[0]}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
    iam = var.endpoint
    ssm = var.endpoint
    sts = var.endpoint
  }}
}}

module "baseline" {{
  source                         = "MODULES/security_baseline"
  name                           = "example"
  kms_key_arn                    = "arn:aws:kms:{regions[0]}:{account}:key/audit"
  jenkins_agent_principal_arns   = ["arn:aws:iam::{account}:role/jenkins-agent"]
  jenkins_roles                  = {{ {DEPLOY_ROLE} = var.role }}
  approval_admin_principal_arns  = ["arn:aws:iam::{account}:role/security-team"]
  approval_policy_parameter_arns = var.role.approval_policy_parameter_arns
}}

# As terraform/global's module "records_kms" (test_least_privilege checks the arguments are the same).
module "records_kms" {{
  source        = "MODULES/kms_key"
  for_each      = toset([{records}])
  region        = each.value
  alias         = "example-{RECORDS_ALIAS}"
  description   = "records"
  account_usage = false
  service_users = {{
    principal_arns = ["arn:aws:iam::{account}:role/example-{DEPLOY_ROLE}-jenkins"]
    reader_arns    = ["arn:aws:iam::{account}:role/approvers"]
    services       = ["ssm"]
  }}
}}

module "nodes" {{
  source             = "MODULES/ecs_cluster"
  name               = "example-nodes"
  vpc_id             = "vpc-12345678"
  private_subnet_ids = ["subnet-12345678", "subnet-87654321"]
  ami_ssm_parameter  = "/gantry/least-privilege/ami"
}}
"""


def render(raw: dict[str, Any], moto: str, workdir: Path, terraform: str, env: dict[str, str]) -> Rendered:
    """`terraform plan` of the scratch root against moto, read back with `terraform show -json`."""
    import boto3

    account = "123456789012"
    regions = list(raw["aws"]["regions"])
    ssm = boto3.client(
        "ssm", region_name=regions[0], endpoint_url=moto, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ssm.put_parameter(Name="/gantry/least-privilege/ami", Value="ami-12345678", Type="String", Overwrite=True)
    role = role_inputs(raw, account)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    relative = os.path.relpath(MODULES, workdir)
    (workdir / "main.tf").write_text(_root(account, regions).replace("MODULES", relative))
    (workdir / "terraform.tfvars.json").write_text(json.dumps({"endpoint": moto, "role": role}))

    def run(*args: str) -> str:
        done = subprocess.run(
            [terraform, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"terraform {args[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    run("init", "-input=false", "-no-color", "-backend=false")
    run("plan", "-input=false", "-no-color", "-out=plan.bin", "-lock=false")
    plan = json.loads(run("show", "-json", "plan.bin"))
    resources: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for resource in module.get("resources", []):
            resources[resource["address"]] = resource.get("values", {})
        for child in module.get("child_modules", []):
            walk(child)

    walk(plan["planned_values"]["root_module"])

    def document(address: str) -> dict[str, Any]:
        text = resources[address].get("policy")
        assert isinstance(text, str), f"{address}: policy unknown at plan time"
        parsed: dict[str, Any] = json.loads(text)
        return parsed

    managed = [
        v["policy_arn"] for a, v in resources.items() if a.startswith("module.nodes.aws_iam_role_policy_attachment.")
    ]
    return Rendered(
        account=account,
        deploy_role=f"arn:aws:iam::{account}:role/example-{DEPLOY_ROLE}-jenkins",
        approver=f"arn:aws:iam::{account}:role/approvers",
        node_role=f"arn:aws:iam::{account}:role/example-nodes-{regions[0]}-ecs-node",
        deploy=Policy(document(f'module.baseline.aws_iam_role_policy.jenkins["{DEPLOY_ROLE}"]'), "deploy role"),
        approval_admin=Policy(document("module.baseline.aws_iam_role_policy.approval_admin[0]"), "approval admin"),
        records_keys={
            r: Policy(document(f'module.records_kms["{r}"].aws_kms_key.this'), f"records key {r}") for r in regions
        },
        node_inline=Policy(document("module.nodes.aws_iam_role_policy.session_manager"), "ECS node role"),
        node_managed=managed,
        role=role,
    )


# --- recorded calls -------------------------------------------------------------------------------------
def load_calls(directory: Path) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        calls.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return calls


@dataclass(frozen=True)
class Need:
    """One IAM request a call needs; `key_region` set: a KMS request on the records key of that region."""

    request: Request
    why: str
    key_region: str | None = None


class _Call:
    """One recorded call, and how to spell the requests it needs."""

    def __init__(self, call: dict[str, Any], rendered: Rendered, principal: str) -> None:
        self.call, self.rendered, self.principal = call, rendered, principal
        self.account, self.region = rendered.account, call["region"]
        self.action, self.params = call.get("action", ""), call.get("params", {})
        self.why = f"{call['command']} [{call['stage'] or 'no stage'}] {call.get('action') or call.get('why')}"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def need(self, action: str, resource: str, **context: str | list[str]) -> Need:
        return Need(Request(self.principal, action, resource, dict(context)), self.why)

    def via(self, service: str, action: str, key: str, key_region: str | None = None, **context: str) -> Need:
        """A KMS request a service makes with the caller's permissions (kms:ViaService)."""
        ctx = {"kms:ViaService": f"{service}.{self.region}.amazonaws.com", "kms:CallerAccount": self.account}
        return Need(Request(self.principal, action, key, {**ctx, **context}), self.why, key_region)


def _implied(c: _Call) -> list[Need]:
    resource = c.call["resource"]
    if "codecommit_repository" in resource:
        arn = c.arn("codecommit", resource["codecommit_repository"])
    else:
        arn = c.arn("ecr", f"repository/{resource['ecr_repository']}")
    return [c.need(a, "*" if a in UNSCOPED else arn) for a in c.call["actions"]]


def _ssm(c: _Call) -> list[Need]:
    name = c.params.get("Name") or c.params["Path"]
    parameter = c.arn("ssm", f"parameter{name}")
    context = {"ssm:Overwrite": str(c.params.get("Overwrite", False)).lower()} if c.action == "ssm:PutParameter" else {}
    needs = [c.need(c.action, parameter, **context)]
    if c.params.get("Type") == "SecureString" or c.params.get("WithDecryption"):
        records = c.rendered.role["records_parameter_arns"][0].split(":parameter", 1)[1].removesuffix("*")
        if not str(name).startswith(records):
            raise KeyError(f"{c.action} of SecureString {name} outside the records: which key encrypts it?")
        kms = "kms:Encrypt" if c.action == "ssm:PutParameter" else "kms:Decrypt"
        key = f"arn:aws:kms:{c.region}:{c.account}:key/records-{c.region}"
        needs.append(c.via("ssm", kms, key, c.region, **{"kms:EncryptionContext:PARAMETER_ARN": parameter}))
    return needs


def _ecs(c: _Call) -> list[Need]:
    cluster = str(c.params.get("cluster", "default")).rsplit("/", 1)[-1]
    if c.action in {"ecs:DescribeServices", "ecs:UpdateService"}:
        names = c.params.get("services") or [c.params["service"]]
        return [c.need(c.action, c.arn("ecs", f"service/{cluster}/{n.rsplit('/', 1)[-1]}")) for n in names]
    if c.action == "ecs:DescribeClusters":
        return [c.need(c.action, c.arn("ecs", f"cluster/{n.rsplit('/', 1)[-1]}")) for n in c.params["clusters"]]
    if c.action != "ecs:RegisterTaskDefinition":
        raise KeyError(c.action)
    needs = [c.need(c.action, "*")]
    for key in ("executionRoleArn", "taskRoleArn"):
        if c.params.get(key):
            needs.append(c.need("iam:PassRole", c.params[key], **{"iam:PassedToService": "ecs-tasks.amazonaws.com"}))
    if c.params.get("tags"):  # the new revision (any number): the role may tag task definitions on create only
        revision = c.arn("ecs", f"task-definition/{c.params['family']}:1")
        needs.append(c.need("ecs:TagResource", revision, **{"ecs:CreateAction": "RegisterTaskDefinition"}))
    return needs


def _ecr(c: _Call) -> list[Need]:
    names = c.params.get("repositoryNames") or [c.params["repositoryName"]]
    return [c.need(c.action, c.arn("ecr", f"repository/{n}")) for n in names]


def _cloudwatch(c: _Call) -> list[Need]:
    if "AlarmNamePrefix" in c.params:  # a listing: every alarm with the prefix
        return [c.need(c.action, c.arn("cloudwatch", f"alarm:{c.params['AlarmNamePrefix']}*"))]
    names = c.params.get("AlarmNames") or [c.params["AlarmName"]]
    return [c.need(c.action, c.arn("cloudwatch", f"alarm:{n}")) for n in names]


def _dynamodb(c: _Call) -> list[Need]:
    table = c.arn("dynamodb", f"table/{c.params['TableName']}")
    keys = {"dynamodb:LeadingKeys": [c.params["Key"]["LockID"]["S"]]} if "Key" in c.params else {}
    key = f"arn:aws:kms:{c.region}:{c.account}:key/lock-table"
    context = {"kms:EncryptionContext:aws:dynamodb:tableName": c.params["TableName"]}
    return [c.need(c.action, table, **keys), c.via("dynamodb", "kms:Decrypt", key, **context)]


def _secret(c: _Call) -> list[Need]:
    secret, key = c.params["SecretId"], f"arn:aws:kms:{c.region}:{c.account}:key/database"
    return [
        c.need(c.action, secret),
        c.via("secretsmanager", "kms:Decrypt", key, **{"kms:EncryptionContext:SecretARN": secret}),
    ]


def _route53(c: _Call) -> list[Need]:
    if "HealthCheckId" in c.params:
        return [c.need(c.action, f"arn:aws:route53:::healthcheck/{c.params['HealthCheckId']}")]
    return [c.need(c.action, f"arn:aws:route53:::hostedzone/{c.params['HostedZoneId'].rsplit('/', 1)[-1]}")]


def _rds(c: _Call) -> list[Need]:
    resources = [f"arn:aws:rds::{c.account}:global-cluster:{c.params['GlobalClusterIdentifier']}"]
    resources += [c.params["TargetDbClusterIdentifier"]] if c.params.get("TargetDbClusterIdentifier") else []
    return [c.need(c.action, r) for r in resources]


RULES = {
    "ssm:GetParameter": _ssm,
    "ssm:GetParametersByPath": _ssm,
    "ssm:PutParameter": _ssm,
    "ecs:DescribeServices": _ecs,
    "ecs:UpdateService": _ecs,
    "ecs:DescribeClusters": _ecs,
    "ecs:RegisterTaskDefinition": _ecs,
    "ecr:DescribeRepositories": _ecr,
    "ecr:DescribeImages": _ecr,
    "ecr:BatchGetImage": _ecr,
    "codecommit:GetRepository": lambda c: [c.need(c.action, c.arn("codecommit", c.params["repositoryName"]))],
    "sns:Publish": lambda c: [c.need(c.action, c.params["TopicArn"])],
    "cloudwatch:DescribeAlarms": _cloudwatch,
    "cloudwatch:SetAlarmState": _cloudwatch,
    "dynamodb:GetItem": _dynamodb,
    "dynamodb:UpdateItem": _dynamodb,
    "dynamodb:Scan": _dynamodb,
    "secretsmanager:GetSecretValue": _secret,
    "route53:GetHealthCheck": _route53,
    "route53:GetHealthCheckStatus": _route53,
    "route53:UpdateHealthCheck": _route53,
    "route53:ListResourceRecordSets": _route53,
    "rds:DescribeGlobalClusters": _rds,
    "rds:SwitchoverGlobalCluster": _rds,
    "rds:FailoverGlobalCluster": _rds,
}


def requests_for(call: dict[str, Any], rendered: Rendered, principal: str) -> list[Need]:
    """The IAM requests AWS authorizes `call` by (see the module docstring). Raises KeyError for a call with no
    rule: add one to RULES when gantry starts calling something new."""
    c = _Call(call, rendered, principal)
    if call["kind"] == "implied":
        return _implied(c)
    if c.action in FREE:
        return []
    if c.action in UNSCOPED and c.action != "ecs:RegisterTaskDefinition":
        return [c.need(c.action, "*")]
    if c.action not in RULES:
        raise KeyError(f"no IAM rule for {c.action} ({c.why}): add one to least_privilege.RULES")
    return RULES[c.action](c)


def decide(need: Need, rendered: Rendered, identity: Policy) -> tuple[str, str]:
    if need.request.action.startswith("kms:"):
        key_policy = (
            rendered.records_keys[need.key_region]
            if need.key_region is not None
            # kms_key's account statement: the caller's IAM policy decides (other roots' keys).
            else Policy(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{rendered.account}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ]
                }
            )
        )
        return kms_decide(need.request, identity, key_policy)
    decision, sid = identity.decide(need.request)
    return decision, f"{'statement ' + sid if sid else 'no statement allows it'}"


def check_calls(calls: list[dict[str, Any]], rendered: Rendered) -> tuple[list[str], set[str]]:
    """Failures (one line per request the deploy role may not make) and the actions the deploy role used."""
    failures, used = [], set()
    for call in calls:
        if call["principal"] != "deploy":
            continue
        for need in requests_for(call, rendered, rendered.deploy_role):
            decision, reason = decide(need, rendered, rendered.deploy)
            used.add(need.request.action)
            if decision != "allow":
                failures.append(
                    f"{need.why}: {need.request.action} on {need.request.resource} is {decision} ({reason})"
                )
    return sorted(set(failures)), used


# --- the policies' own shape ------------------------------------------------------------------------------
def wildcard_grants(policy: Policy) -> list[str]:
    """Allow statements with a wildcard action, or with Resource "*" for an action outside UNSCOPED."""
    found = []
    for statement in policy.statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement.get("Resource", "*")
        resources = resources if isinstance(resources, list) else [resources]
        for action in actions:
            if "*" in action or "?" in action:
                found.append(f"{statement.get('Sid')}: wildcard action {action}")
            elif "*" in resources and action not in UNSCOPED:
                found.append(f"{statement.get('Sid')}: {action} on Resource *")
    return found


# --- for the tests --------------------------------------------------------------------------------------
RECORDER = Path(__file__).resolve().parent / "callrecorder"
_RENDERED: dict[str, Rendered] = {}


def recording_environment(env: dict[str, str], directory: Path) -> dict[str, str]:
    """`env` for gantry processes whose AWS requests go to `directory` (callrecorder/sitecustomize.py)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join(p for p in (str(RECORDER), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, "GANTRY_TEST_CALL_LOG": str(directory)}


def rendered_for(raw: dict[str, Any], moto: str, tmp: Path) -> Rendered:
    """The rendered policies for the stack `raw` describes; skips without Terraform's AWS provider (fails with
    GANTRY_TF_VALIDATE=1), as the other Terraform checks do. One render per set of names in a session."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "terraform"))
    from tfhelpers import TOOLS, require_provider, terraform_env  # type: ignore[import-not-found]

    require_provider()
    terraform = shutil.which("terraform") or str(TOOLS / "bin" / "terraform")
    key = json.dumps(role_inputs(raw, "123456789012"), sort_keys=True)
    if key not in _RENDERED:
        _RENDERED[key] = render(raw, moto, tmp / "least-privilege-root", terraform, terraform_env(tmp))
    return _RENDERED[key]
