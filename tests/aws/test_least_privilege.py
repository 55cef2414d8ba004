"""The deploy role, the records key and the ECS nodes' role as Terraform renders them (tests/aws/least_privilege.py):
what they must never allow, and proof that the check of recorded calls fails when a grant is missing.

The recorded calls of real runs are checked in tests/aws/test_e2e.py (test_the_deploy_role_is_granted_every_
call_the_runs_made); this module needs only Terraform with the AWS provider and a moto server for the plan's
account lookup. The policies are judged by tests/aws/iam_eval.py, not by AWS: moto enforces actions only
(FINDINGS.md, 4), so a resource-scoped Deny cannot be proven against it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import least_privilege
import pytest
from aws_stack import ACCOUNT, POLICY_PARAMETER, PRIMARY, SECONDARY, AuroraStandIn, moto_server, provision
from iam_eval import Policy, Request, condition_holds, covers, kms_decide

from gantry.newenv.hcl import load_tf

pytestmark = pytest.mark.integration  # Terraform's AWS provider and a moto server process
REGIONS = (PRIMARY, SECONDARY)
SERVICES = ((PRIMARY, "staging"), (PRIMARY, "production"), (SECONDARY, "production"))
OWNER_SECRET = f"arn:aws:secretsmanager:{PRIMARY}:{ACCOUNT}:secret:example-production-aurora-AbCdEf"  # aws_stack's
RECORD = "/gantry/example/records/staging-passes/sha256_0123"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/administrator"
EVERYTHING = Policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, "AdministratorAccess")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("least-privilege")
    with moto_server() as moto:
        urls = {key: "http://127.0.0.1:9" for key in SERVICES}
        # As the end-to-end runs configure it: the database's secrets (no database behind them: only their names
        # matter here) and the golden base in ECR; the same names, so one render serves both modules.
        database = AuroraStandIn(5432, "cart_owner", "not-a-secret", "not-a-secret-either", tmp)
        raw = provision(moto, urls, tmp, "", database=database)
        raw["aws"]["base_image"] = {"repository": "example/golden-base", "tag": "bookworm"}
        yield least_privilege.rendered_for(raw, moto, tmp)


def parameter(region: str, name: str) -> str:
    return f"arn:aws:ssm:{region}:{ACCOUNT}:parameter{name}"


def allowed(policy: Policy, principal: str, action: str, resource: str, **context: Any) -> bool:
    return policy.decide(Request(principal, action, resource, context))[0] == "allow"


def test_no_wildcard_action_and_no_write_on_every_resource(rendered: Any) -> None:
    assert least_privilege.wildcard_grants(rendered.deploy) == []
    assert least_privilege.wildcard_grants(rendered.approval_admin) == []
    granted = {a for s in rendered.deploy.statements if s["Effect"] == "Allow" for a in _listed(s["Action"])}
    assert {a for a in granted if a.startswith(("iam:", "sts:"))} == {"iam:PassRole"}, "no IAM of its own"


def test_the_deploy_role_cannot_change_an_approval_policy(rendered: Any) -> None:
    writes = ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:LabelParameterVersion", "ssm:AddTagsToResource"]
    for region in REGIONS:
        resource = parameter(region, POLICY_PARAMETER)
        assert allowed(rendered.deploy, rendered.deploy_role, "ssm:GetParameter", resource)
        for action in writes:
            for overwrite in ("true", "false"):
                decision, sid = rendered.deploy.decide(
                    Request(rendered.deploy_role, action, resource, {"ssm:Overwrite": overwrite})
                )
                assert decision == "deny" and sid == "ApprovalPolicyIsNotTheDeployersToChange", (action, decision)
        assert allowed(rendered.approval_admin, "admin", "ssm:PutParameter", resource)
        assert not allowed(rendered.approval_admin, "admin", "ssm:PutParameter", parameter(region, RECORD))


def test_the_deploy_role_signs_nothing(rendered: Any) -> None:
    for region in REGIONS:
        keys = [(rendered.records_keys[region], f"arn:aws:kms:{region}:{ACCOUNT}:key/records")]
        keys.append((Policy(_account_key()), f"arn:aws:kms:{region}:{ACCOUNT}:key/any"))
        for key_policy, key in keys:
            for action in ("kms:Sign", "kms:GenerateMac"):
                request = Request(rendered.deploy_role, action, key, {"kms:ViaService": f"ssm.{region}.amazonaws.com"})
                assert kms_decide(request, rendered.deploy, key_policy)[0] != "allow", (action, key)


def test_records_are_create_only(rendered: Any) -> None:
    for region in REGIONS:
        record = parameter(region, RECORD)
        assert allowed(rendered.deploy, rendered.deploy_role, "ssm:PutParameter", record, **{"ssm:Overwrite": "false"})
        decision, sid = rendered.deploy.decide(
            Request(rendered.deploy_role, "ssm:PutParameter", record, {"ssm:Overwrite": "true"})
        )
        assert (decision, sid) == ("deny", "RecordsAreCreateOnly")


def test_the_records_key_serves_the_deploy_role_through_ssm_only(rendered: Any) -> None:
    for region in REGIONS:
        ssm = {"kms:ViaService": f"ssm.{region}.amazonaws.com", "kms:CallerAccount": ACCOUNT}

        def decision(
            principal: str, action: str, identity: Policy, context: dict[str, str], region: str = region
        ) -> str:
            key = f"arn:aws:kms:{region}:{ACCOUNT}:key/records"
            return kms_decide(Request(principal, action, key, context), identity, rendered.records_keys[region])[0]

        for action in ("kms:Encrypt", "kms:Decrypt"):
            assert decision(rendered.deploy_role, action, rendered.deploy, ssm) == "allow"
            assert decision(rendered.deploy_role, action, rendered.deploy, {"kms:CallerAccount": ACCOUNT}) != "allow"
            # Not even a role with AdministratorAccess opens a record: the account has no use of the key.
            assert decision(ADMIN, action, EVERYTHING, ssm) != "allow"
            assert decision(rendered.node_role, action, EVERYTHING, ssm) != "allow"
        assert decision(rendered.approver, "kms:Decrypt", EVERYTHING, ssm) == "allow"
        assert decision(rendered.approver, "kms:Encrypt", EVERYTHING, ssm) != "allow"
        assert decision(ADMIN, "kms:PutKeyPolicy", EVERYTHING, {}) == "allow", "the account still administers it"


def test_ecs_nodes_cannot_read_the_records(rendered: Any) -> None:
    assert rendered.node_managed == [
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"  # ECS, ECR pulls, logs: no SSM
    ], "AmazonSSMManagedInstanceCore grants ssm:GetParameter* on every parameter"
    for region in REGIONS:
        for action in ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"):
            assert not allowed(rendered.node_inline, rendered.node_role, action, parameter(region, RECORD))
    unscoped = {a for s in rendered.node_inline.statements if s["Resource"] == "*" for a in _listed(s["Action"])}
    assert unscoped == {
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    }, "Session Manager's channels are the only unscoped actions of a node"


def test_the_scratch_root_builds_the_records_key_as_the_global_root_does() -> None:
    (module,) = [
        m["records_kms"]
        for m in load_tf(least_privilege.ROOT / "terraform/global/main.tf")["module"]
        if "records_kms" in m
    ]
    assert module["source"] == "../modules/kms_key" and module["account_usage"] is False
    users = module["service_users"]
    assert users["services"] == ["ssm"]
    assert users["principal_arns"] == "${values(module.security_baseline.jenkins_role_arns)}"
    assert module["alias"] == "${local.records_alias}"
    text = (least_privilege.ROOT / "terraform/global/main.tf").read_text()
    assert f'records_alias        = "${{local.customer.name}}-{least_privilege.RECORDS_ALIAS}"' in text


# --- the check itself fails when it should ------------------------------------------------------------------
def _call(action: str, region: str = PRIMARY, **params: Any) -> dict[str, Any]:
    service, operation = action.split(":")
    return {
        "kind": "api",
        "command": "deploy --env staging",
        "principal": "deploy",
        "stage": "deploy staging",
        "service": service,
        "operation": operation,
        "action": action,
        "region": region,
        "params": params,
    }


SAMPLE = [
    _call("ssm:PutParameter", Name=RECORD, Type="SecureString", KeyId="alias/example-gantry-records", Overwrite=False),
    _call("ssm:GetParameter", Name=RECORD, WithDecryption=True),
    _call("ssm:GetParameter", Name=POLICY_PARAMETER),
    _call("ecs:UpdateService", cluster="example-useast1", service="cart-staging", taskDefinition="x"),
    _call("ecs:RegisterTaskDefinition", family="example-cart-staging", tags=["gantry:sha"]),
    _call("dynamodb:UpdateItem", TableName="example-terraform-locks", Key={"LockID": {"S": "gantry/example/staging"}}),
    _call("secretsmanager:GetSecretValue", SecretId=OWNER_SECRET),
    _call("sns:Publish", TopicArn=f"arn:aws:sns:{PRIMARY}:{ACCOUNT}:gantry-example-pipeline"),
    {
        "kind": "implied",
        "command": "source",
        "principal": "deploy",
        "stage": "source",
        "region": PRIMARY,
        "actions": ["codecommit:GitPush"],
        "resource": {"codecommit_repository": "example-cart"},
        "why": "git push",
    },
]


def test_the_sample_calls_are_granted(rendered: Any) -> None:
    assert least_privilege.check_calls(SAMPLE, rendered)[0] == []


@pytest.mark.parametrize(
    ("missing", "call"),
    [
        ("ssm:PutParameter", 0),
        ("ecs:UpdateService", 3),
        ("ecs:TagResource", 4),
        ("dynamodb:UpdateItem", 5),
        ("secretsmanager:GetSecretValue", 6),
        ("codecommit:GitPush", 8),
    ],
)
def test_the_check_fails_when_the_role_lacks_an_action(rendered: Any, missing: str, call: int) -> None:
    weaker = copy.copy(rendered)
    document = copy.deepcopy(rendered.deploy.document)
    for statement in document["Statement"]:
        if statement["Effect"] == "Allow":
            statement["Action"] = [a for a in _listed(statement["Action"]) if a != missing] or ["none:None"]
    weaker.deploy = Policy(document, "deploy role without " + missing)
    failures, _ = least_privilege.check_calls(SAMPLE, weaker)
    assert failures and all(missing in f for f in failures), failures
    assert any(str(SAMPLE[call].get("action") or SAMPLE[call]["why"]) in f for f in failures), failures


def test_the_check_fails_outside_the_granted_resources(rendered: Any) -> None:
    elsewhere = [
        _call("ecs:UpdateService", cluster="example-useast1", service="billing", taskDefinition="x"),
        _call("ssm:PutParameter", Name="/gantry/other/records/x", Overwrite=False),
        _call("ssm:PutParameter", Name=RECORD, Type="SecureString", Overwrite=True),
        _call(
            "dynamodb:UpdateItem", TableName="example-terraform-locks", Key={"LockID": {"S": "bucket/env/prod.tfstate"}}
        ),
    ]
    failures, _ = least_privilege.check_calls(elsewhere, rendered)
    assert len({f.split(": ", 1)[1] for f in failures}) >= 4, failures
    with pytest.raises(KeyError, match="no IAM rule"):
        least_privilege.check_calls([_call("ecs:DeleteService", cluster="c", service="s")], rendered)


# --- the evaluator -------------------------------------------------------------------------------------------
def test_the_evaluator_follows_aws_on_what_it_models() -> None:
    policy = Policy(
        {
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": "ssm:Get*", "Resource": "arn:aws:ssm:*:1:parameter/a/*"},
                {
                    "Sid": "D",
                    "Effect": "Deny",
                    "Action": "ssm:GetParameter",
                    "Resource": "arn:aws:ssm:*:1:parameter/a/secret",
                },
            ]
        }
    )
    assert policy.decide(Request("r", "SSM:GetParameter", "arn:aws:ssm:x:1:parameter/a/b")) == ("allow", "A")
    assert policy.decide(Request("r", "ssm:GetParameter", "arn:aws:ssm:x:1:parameter/a/secret")) == ("deny", "D")
    assert policy.decide(Request("r", "ssm:PutParameter", "arn:aws:ssm:x:1:parameter/a/b"))[0] == "implicit"
    assert condition_holds("ForAllValues:StringLike", "k", ["a*"], {}) is True  # AWS: vacuously true
    assert condition_holds("StringEquals", "k", ["a"], {}) is False
    assert condition_holds("ForAnyValue:StringEquals", "k", ["a"], {"k": ["b", "a"]}) is True
    assert covers("arn:x:alarm:cart-*", "arn:x:alarm:cart-prod*") and not covers(
        "arn:x:alarm:cart-p*x", "arn:x:alarm:cart-p*"
    )
    with pytest.raises(ValueError, match="not modelled"):
        condition_holds("NumericLessThan", "k", ["1"], {"k": "0"})
    with pytest.raises(ValueError, match="NotAction"):
        Policy({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}).decide(
            Request("r", "s:A", "*")
        )


def _account_key() -> dict[str, Any]:
    return {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_records_root_path_is_outside_the_policy_path() -> None:
    # The records (/gantry/<customer>/records) and the approval policies (/gantry-approval-policy/<customer>) share
    # no prefix, so no grant on one can reach the other by a wildcard.
    assert not POLICY_PARAMETER.startswith("/gantry/") and Path(RECORD).parts[1] == "gantry"
