"""Least privilege, checked: the pipeline's identities as Terraform renders them, evaluated by a maintained IAM
simulator, linted by a maintained offline linter, and held against the AWS requests gantry really makes.

Rendering is Terraform's own and needs no provider: terraform/modules/pipeline_iam (every role's trust and
permission policy, the production guard, the approver's and the approval administrator's policies) and
terraform/modules/kms_key/policy (the records key's policy, as terraform/global passes it) are pure modules,
so a scratch root instantiating them with the test stack's names is `terraform apply`-ed with local state and
read back with `terraform output -json`: the same documents security_baseline and kms_key hand to IAM and KMS.

Evaluation is @cloud-copilot/iam-simulate's (tests/aws/iamsim, installed by scripts/setup-aws.sh): identity
policies, the records key's resource policy and the guard as a service control policy, with AWS's rules for
explicit denies and conditions. Linting is parliament's (offline: its IAM definitions ship with the package).

Each recorded call (callrecorder/sitecustomize.py: the role it ran as, its parameters) becomes the IAM requests
AWS authorizes it by (`requests_for`): its action on the resource its parameters name, with the condition keys
AWS sets, plus what the service does with the caller's permissions (the KMS use of SSM SecureStrings, Secrets
Manager and DynamoDB, iam:PassRole for a task definition's roles, ecs:TagResource for a tagged new task
definition). A call this module has no rule for fails the check, so new code cannot slip past it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "terraform" / "modules"
SIMULATOR = Path(__file__).resolve().parent / "iamsim" / "simulate.mjs"
TOOLS = Path(os.environ.get("GANTRY_TOOLS_CACHE", Path.home() / ".cache" / "gantry-tools"))
ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "us-west-2")
CUSTOMER, SERVICE = "example", "cart"
STACKS = {"staging": "test", "production": "prod"}
BUILD_AGENT = f"arn:aws:iam::{ACCOUNT}:role/jenkins-build-agent"
RELEASE_AGENT = f"arn:aws:iam::{ACCOUNT}:role/jenkins-release-agent"
APPROVER = f"arn:aws:iam::{ACCOUNT}:role/approvers"
ADMIN_PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:role/security-team"
APPROVAL_ADMIN = f"arn:aws:iam::{ACCOUNT}:role/{CUSTOMER}-approval-policy-admin"
LOCK_TABLE = "example-terraform-locks"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:gantry-example-pipeline"
ZONE = "arn:aws:route53:::hostedzone/Z0123456789TEST"

# Actions AWS does not scope to a resource (service authorization reference): the only ones a role may be granted
# on "*", each with why it may stay.
UNSCOPED = {
    "ecr:GetAuthorizationToken": "registry login; the token opens only the repositories granted by ARN",
    "ecr:DescribeRegistry": "reads the registry's replication rules (gantry doctor, `gantry up`)",
    "ecs:DescribeTaskDefinition": "read only",
    "ecs:RegisterTaskDefinition": "the one write: a revision runs nothing until UpdateService or RunTask, both scoped",
    "elasticloadbalancing:DescribeTargetHealth": "read only",
    "elasticloadbalancing:DescribeLoadBalancers": "read only",
    "cloudwatch:GetMetricStatistics": "read only (the DR drill's replication lag)",
}
FREE = {"sts:GetCallerIdentity", "sts:AssumeRole"}  # the agent's own call to become a role; the trust decides


# --- rendering -----------------------------------------------------------------------------------------
def _root(build_agent: str = BUILD_AGENT, release_agent: str = RELEASE_AGENT) -> str:
    regions = ", ".join(f'"{r}"' for r in REGIONS)
    return f"""
module "pipeline_iam" {{
  source                        = "MODULES/pipeline_iam"
  customer                      = "{CUSTOMER}"
  account_id                    = "{ACCOUNT}"
  regions                       = {{ primary = "{REGIONS[0]}", secondary = "{REGIONS[1]}" }}
  service_name                  = "{SERVICE}"
  environments = {{
    staging    = {{ protected = false }}
    production = {{ protected = true, dr = true }}
  }}
  stacks                        = {{ staging = "{STACKS["staging"]}", production = "{STACKS["production"]}" }}
  build_principal_arns          = ["{build_agent}"]
  release_principal_arns        = ["{release_agent}"]
  lock_table                    = "{LOCK_TABLE}"
  sns_topic_arn                 = "{TOPIC}"
  dr_hosted_zone_arn            = "{ZONE}"
}}

# As terraform/global's module "records_kms" passes it (test_least_privilege checks the arguments are the same).
module "records_key" {{
  source        = "MODULES/kms_key/policy"
  for_each      = toset([{regions}])
  account_id    = "{ACCOUNT}"
  region        = each.value
  account_usage = false
  service_users = {{
    principal_arns = concat(values(module.pipeline_iam.role_arns), ["{APPROVAL_ADMIN}"])
    reader_arns    = ["{APPROVER}"]
    services       = ["ssm"]
  }}
}}

output "roles" {{
  value = module.pipeline_iam.roles
}}

output "documents" {{
  value = {{
    guard          = module.pipeline_iam.production_guard
    approver       = module.pipeline_iam.approver_policy
    approval_admin = module.pipeline_iam.approval_admin_policy
  }}
}}

output "records_keys" {{
  value = {{ for region, key in module.records_key : region => key.json }}
}}
"""


@dataclass
class Rendered:
    roles: dict[str, dict[str, Any]]  # identity -> {arn, trust, policy}
    guard: dict[str, Any]  # the production guard, as a service control policy
    approver: dict[str, Any]
    approval_admin: dict[str, Any]
    records_keys: dict[str, dict[str, Any]]  # region -> key policy

    def arn(self, identity: str) -> str:
        return str(self.roles[identity]["arn"])

    def identity_of(self, arn: str) -> str:
        return next(identity for identity, role in self.roles.items() if role["arn"] == arn)

    def policies(self) -> dict[str, list[dict[str, Any]]]:
        """principal ARN -> identity policies, for every principal the tests ask about."""
        found = {role["arn"]: [role["policy"]] for role in self.roles.values()}
        found[APPROVER] = [self.approver]
        found[APPROVAL_ADMIN] = [self.approval_admin]
        return found


def terraform_bin() -> str:
    return shutil.which("terraform") or str(TOOLS / "terraform" / "bin" / "terraform")


def render(workdir: Path, **agents: str) -> Rendered:
    """`terraform apply` of the scratch root (no provider, no resource: outputs only), read back as JSON;
    `agents`: build_agent and release_agent principals other than the test's own."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / "main.tf").write_text(_root(**agents).replace("MODULES", os.path.relpath(MODULES, workdir)))
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_CLI_CONFIG_FILE": "/dev/null"}

    def run(*args: str) -> str:
        done = subprocess.run(
            [terraform_bin(), *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"terraform {args[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    run("init", "-input=false", "-no-color", "-backend=false")
    run("apply", "-input=false", "-no-color", "-auto-approve", "-lock=false")
    outputs = json.loads(run("output", "-json"))
    roles = {
        identity: {"arn": role["arn"], "trust": json.loads(role["trust_policy"]), "policy": json.loads(role["policy"])}
        for identity, role in outputs["roles"]["value"].items()
    }
    documents = {name: json.loads(text) for name, text in outputs["documents"]["value"].items()}
    keys = {region: json.loads(text) for region, text in outputs["records_keys"]["value"].items()}
    return Rendered(roles, documents["guard"], documents["approver"], documents["approval_admin"], keys)


_RENDERED: dict[str, Rendered] = {}


def rendered(tmp: Path) -> Rendered:
    """The rendered documents, once per test session."""
    if "documents" not in _RENDERED:
        _RENDERED["documents"] = render(tmp / "least-privilege-root")
    return _RENDERED["documents"]


# --- evaluation ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    principal: str  # ARN of the caller
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    why: str = ""

    def payload(self) -> dict[str, Any]:
        return {"principal": self.principal, "action": self.action, "resource": self.resource, "context": self.context}


def simulate(requests: list[Request], rendered: Rendered, *, guard: bool = True) -> list[dict[str, Any]]:
    """iam-simulate's decision for each request (Allowed, ImplicitlyDenied, ExplicitlyDenied or Error), with the
    identity policies of every principal, the records keys' policies and (with `guard`) the production guard."""
    node = shutil.which("node")
    cache = TOOLS / "iamsim"
    if node is None or not (cache / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        raise AssertionError("the IAM simulator is not installed: run scripts/setup-aws.sh (make test does)")
    script = cache / "simulate.mjs"  # beside its node_modules, where an ES module resolves its imports
    shutil.copy(SIMULATOR, script)
    resources = {
        f"arn:aws:kms:{region}:{ACCOUNT}:key/records-{region}": key for region, key in rendered.records_keys.items()
    }
    document = {
        "requests": [r.payload() for r in requests],
        "identityPolicies": rendered.policies(),
        "resourcePolicies": resources,
        "scps": [rendered.guard] if guard else [],
    }
    done = subprocess.run(
        [node, str(script)], input=json.dumps(document), capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"iam-simulate failed: {done.stderr[-2000:]}")
    results: list[dict[str, Any]] = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert len(results) == len(requests), done.stdout[-2000:]
    return results


def decision(request: Request, rendered: Rendered, *, guard: bool = True) -> str:
    return str(simulate([request], rendered, guard=guard)[0]["decision"])


# --- recorded calls -------------------------------------------------------------------------------------
def load_calls(directory: Path) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        calls.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return calls


class _Call:
    """One recorded call, and how to spell the requests it needs."""

    def __init__(self, call: dict[str, Any], principal: str) -> None:
        self.call, self.principal = call, principal
        self.region = call["region"]
        self.action, self.params = call.get("action", ""), call.get("params", {})
        self.why = f"{call['command']} [{call['stage'] or 'no stage'}] {call.get('action') or call.get('why')}"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT}:{resource}"

    def need(self, action: str, resource: str, **context: Any) -> Request:
        return Request(self.principal, action, resource, dict(context), self.why)

    def via(self, service: str, action: str, key: str, **context: str) -> Request:
        """A KMS request a service makes with the caller's permissions (kms:ViaService)."""
        ctx = {"kms:ViaService": f"{service}.{self.region}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
        return Request(self.principal, action, key, {**ctx, **context}, self.why)


def _implied(c: _Call) -> list[Request]:
    resource = c.call["resource"]
    if "codecommit_repository" in resource:
        arn = c.arn("codecommit", resource["codecommit_repository"])
    else:
        arn = c.arn("ecr", f"repository/{resource['ecr_repository']}")
    return [c.need(a, "*" if a in UNSCOPED else arn) for a in c.call["actions"]]


def _ssm(c: _Call) -> list[Request]:
    name = c.params.get("Name") or c.params["Path"]
    parameter = c.arn("ssm", f"parameter{name}")
    context = {"ssm:Overwrite": str(c.params.get("Overwrite", False)).lower()} if c.action == "ssm:PutParameter" else {}
    needs = [c.need(c.action, parameter, **context)]
    if c.params.get("Type") == "SecureString" or c.params.get("WithDecryption"):
        kms = "kms:Encrypt" if c.action == "ssm:PutParameter" else "kms:Decrypt"
        key = f"arn:aws:kms:{c.region}:{ACCOUNT}:key/records-{c.region}"
        needs.append(c.via("ssm", kms, key, **{"kms:EncryptionContext:PARAMETER_ARN": parameter}))
    return needs


def _ecs(c: _Call) -> list[Request]:
    cluster = str(c.params.get("cluster", "default")).rsplit("/", 1)[-1]
    if c.action in {"ecs:DescribeServices", "ecs:UpdateService"}:
        names = c.params.get("services") or [c.params["service"]]
        return [c.need(c.action, c.arn("ecs", f"service/{cluster}/{n.rsplit('/', 1)[-1]}")) for n in names]
    if c.action == "ecs:DescribeClusters":
        return [c.need(c.action, c.arn("ecs", f"cluster/{n.rsplit('/', 1)[-1]}")) for n in c.params["clusters"]]
    if c.action == "ecs:RunTask":
        family = str(c.params["taskDefinition"]).rsplit("/", 1)[-1].split(":")[0]
        return [
            c.need(
                c.action,
                c.arn("ecs", f"task-definition/{family}:1"),
                **{"ecs:cluster": c.arn("ecs", f"cluster/{cluster}")},
            )
        ]
    if c.action == "ecs:DescribeTasks":
        return [c.need(c.action, c.arn("ecs", f"task/{cluster}/{t.rsplit('/', 1)[-1]}")) for t in c.params["tasks"]]
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


def _ecr(c: _Call) -> list[Request]:
    names = c.params.get("repositoryNames") or [c.params["repositoryName"]]
    return [c.need(c.action, c.arn("ecr", f"repository/{n}")) for n in names]


def _cloudwatch(c: _Call) -> list[Request]:
    if "AlarmNamePrefix" in c.params:  # a listing: every alarm with the prefix
        return [c.need(c.action, c.arn("cloudwatch", f"alarm:{c.params['AlarmNamePrefix']}-listing"))]
    names = c.params.get("AlarmNames") or [c.params["AlarmName"]]
    return [c.need(c.action, c.arn("cloudwatch", f"alarm:{n}")) for n in names]


def _dynamodb(c: _Call) -> list[Request]:
    table = c.arn("dynamodb", f"table/{c.params['TableName']}")
    keys = {"dynamodb:LeadingKeys": [c.params["Key"]["LockID"]["S"]]} if "Key" in c.params else {}
    key = f"arn:aws:kms:{c.region}:{ACCOUNT}:key/lock-table"
    context = {"kms:EncryptionContext:aws:dynamodb:tableName": c.params["TableName"]}
    return [c.need(c.action, table, **keys), c.via("dynamodb", "kms:Decrypt", key, **context)]


def _secret(c: _Call) -> list[Request]:
    secret, key = c.params["SecretId"], f"arn:aws:kms:{c.region}:{ACCOUNT}:key/database"
    return [
        c.need(c.action, secret),
        c.via("secretsmanager", "kms:Decrypt", key, **{"kms:EncryptionContext:SecretARN": secret}),
    ]


def _route53(c: _Call) -> list[Request]:
    if "HealthCheckId" in c.params:
        return [c.need(c.action, f"arn:aws:route53:::healthcheck/{c.params['HealthCheckId']}")]
    return [c.need(c.action, f"arn:aws:route53:::hostedzone/{c.params['HostedZoneId'].rsplit('/', 1)[-1]}")]


def _rds(c: _Call) -> list[Request]:
    resources = [f"arn:aws:rds::{ACCOUNT}:global-cluster:{c.params['GlobalClusterIdentifier']}"]
    resources += [c.params["TargetDbClusterIdentifier"]] if c.params.get("TargetDbClusterIdentifier") else []
    return [c.need(c.action, r) for r in resources]


def _logs(c: _Call) -> list[Request]:
    stream = f"log-group:{c.params['logGroupName']}:log-stream:{c.params['logStreamName']}"
    return [c.need(c.action, c.arn("logs", stream))]


RULES = {
    "ssm:GetParameter": _ssm,
    "ssm:GetParametersByPath": _ssm,
    "ssm:PutParameter": _ssm,
    "ecs:DescribeServices": _ecs,
    "ecs:UpdateService": _ecs,
    "ecs:DescribeClusters": _ecs,
    "ecs:RegisterTaskDefinition": _ecs,
    "ecs:RunTask": _ecs,
    "ecs:DescribeTasks": _ecs,
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
    "logs:GetLogEvents": _logs,
}


def requests_for(call: dict[str, Any], principal: str) -> list[Request]:
    """The IAM requests AWS authorizes `call` by (see the module docstring). Raises KeyError for a call with no
    rule: add one to RULES when gantry starts calling something new."""
    c = _Call(call, principal)
    if call["kind"] == "implied":
        return _implied(c)
    if c.action in FREE:
        return []
    if c.action in UNSCOPED and c.action != "ecs:RegisterTaskDefinition":
        return [c.need(c.action, "*")]
    if c.action not in RULES:
        raise KeyError(f"no IAM rule for {c.action} ({c.why}): add one to least_privilege.RULES")
    return RULES[c.action](c)


def check_calls(calls: list[dict[str, Any]], rendered: Rendered) -> tuple[list[str], dict[str, set[str]]]:
    """Every request the recorded calls of the pipeline's roles needed, simulated: the failures (one line each)
    and, per identity, the actions it used."""
    needs: list[tuple[str, Request]] = []
    for call in calls:
        role = call.get("role")
        if not role:
            continue  # the approver's own credentials, or the agent's before it assumed a role
        identity = rendered.identity_of(role)
        needs += [(identity, need) for need in requests_for(call, role)]
    results = simulate([need for _, need in needs], rendered)
    failures, used = [], {identity: set() for identity in rendered.roles}
    for (identity, need), result in zip(needs, results, strict=True):
        if not need.action.startswith("kms:") or "records-" in need.resource:
            used[identity].add(need.action)
        if result["decision"] != "Allowed" and not _other_roots_key(need, result):
            failures.append(f"{identity}: {need.why}: {need.action} on {need.resource} is {result['decision']}")
    return sorted(set(failures)), used


def _other_roots_key(need: Request, result: dict[str, Any]) -> bool:
    """A KMS request on a key of another root (the lock table's, the database secrets'): their key policies leave
    the decision to the account's IAM (kms_key's account statement), which the simulator has no policy for; the
    role's own statement is what grants it, so only an explicit deny fails here."""
    return (
        need.action.startswith("kms:") and "records-" not in need.resource and result["decision"] != "ExplicitlyDenied"
    )


# --- linting ---------------------------------------------------------------------------------------------
# parliament findings that are wrong for these documents, each with why (matched on issue and statement Sid).
LINT_EXCEPTIONS = {
    ("RESOURCE_STAR", "Unscoped"): "actions AWS cannot scope to a resource (UNSCOPED, checked one by one)",
    ("CREDENTIALS_EXPOSURE", "Unscoped"): "ecr:GetAuthorizationToken: the registry login a push needs; the "
    "token opens only the repositories granted by ARN",
    ("RESOURCE_STAR", "AccountAdministration"): "in a key policy '*' is the key itself",
    ("RESOURCE_STAR", "NamedPrincipalsThroughServices"): "in a key policy '*' is the key itself",
    ("RESOURCE_STAR", "NamedReadersThroughServices"): "in a key policy '*' is the key itself",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "AccountAdministration"): "the account administers its own key",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "PassTaskRoles"): "PassRole of this environment's task roles, to ECS only",
}


def lint(name: str, document: dict[str, Any]) -> list[str]:
    """parliament's findings on one policy (offline), minus LINT_EXCEPTIONS; one line each."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports pkg_resources, which warns about itself
        from parliament import analyze_policy_string, enhance_finding, override_config

    override_config(
        str(Path(sys.modules["parliament"].__file__ or "").parent / "community_auditors" / "config_override.yaml")
    )
    policy = analyze_policy_string(json.dumps(document), filepath=name, include_community_auditors=True)
    found = []
    for finding in map(enhance_finding, policy.findings):
        actions = finding.location.get("actions") or (finding.detail if isinstance(finding.detail, list) else [])
        sid = _sid_of(actions, document)
        if (finding.issue, sid) in LINT_EXCEPTIONS:
            continue
        found.append(f"{name}: {finding.issue} ({finding.severity}) in {sid}: {str(finding.detail)[:200]}")
    return found


def _sid_of(actions: list[str], document: dict[str, Any]) -> str | None:
    """The Sid of the statement granting `actions` (parliament names actions, not statements)."""
    wanted = {str(a).lower() for a in actions}
    for statement in document.get("Statement", []):
        listed = statement.get("Action", [])
        listed = listed if isinstance(listed, list) else [listed]
        if wanted and wanted <= {a.lower() for a in listed}:
            return str(statement.get("Sid"))
    return None


# --- for the tests --------------------------------------------------------------------------------------
RECORDER = Path(__file__).resolve().parent / "callrecorder"


def recording_environment(env: dict[str, str], directory: Path) -> dict[str, str]:
    """`env` for gantry processes whose AWS requests go to `directory` (callrecorder/sitecustomize.py)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join(p for p in (str(RECORDER), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, "GANTRY_TEST_CALL_LOG": str(directory)}


def stack_roles() -> dict[str, str]:
    """aws.roles for the test stack: the ARNs pipeline_iam gives the example customer's identities."""
    return {
        "build": f"arn:aws:iam::{ACCOUNT}:role/gantry-pipeline/{CUSTOMER}-build",
        "staging": f"arn:aws:iam::{ACCOUNT}:role/gantry-pipeline/{CUSTOMER}-staging-deploy",
        "production": f"arn:aws:iam::{ACCOUNT}:role/gantry-pipeline/{CUSTOMER}-production-release",
    }
