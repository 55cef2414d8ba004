"""The pipeline's identities as Terraform renders them (modules/pipeline_iam, the records key's policy from
modules/kms_key/policy; tests/aws/least_privilege.py), attacked: every request below is what a holder of one
identity would try, evaluated by @cloud-copilot/iam-simulate with the identity policies, the records key's
policy and the production guard (a service control policy), as AWS evaluates them. No provider and no AWS
account is needed: the documents are pure Terraform values. The recorded calls of real runs are checked in
tests/aws/test_e2e.py; every rendered policy is linted here with parliament, offline.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import least_privilege
import pytest
from least_privilege import ACCOUNT, APPROVAL_ADMIN, APPROVER, REGIONS, Request

from gantry.newenv.hcl import load_tf

pytestmark = pytest.mark.integration  # Terraform, and the IAM simulator from npm (scripts/setup-aws.sh)
PRIMARY, SECONDARY = REGIONS
PROD_SERVICE = f"arn:aws:ecs:{PRIMARY}:{ACCOUNT}:service/example-prod/cart"
STAGING_SERVICE = f"arn:aws:ecs:{PRIMARY}:{ACCOUNT}:service/example-test/cart"
PROD_CLUSTER = f"arn:aws:ecs:{PRIMARY}:{ACCOUNT}:cluster/example-prod"
TABLE = f"arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/{least_privilege.LOCK_TABLE}"
POLICY = f"arn:aws:ssm:{PRIMARY}:{ACCOUNT}:parameter/gantry-approval-policy/example/production"
PROD_RECORD = f"arn:aws:ssm:{PRIMARY}:{ACCOUNT}:parameter/gantry/example/records/production/releases/x"
STAGING_RECORD = f"arn:aws:ssm:{PRIMARY}:{ACCOUNT}:parameter/gantry/example/records/staging/staging-passes/x"
PROD_SECRET = f"arn:aws:secretsmanager:{PRIMARY}:{ACCOUNT}:secret:gantry/example-prod/aurora-master-AbCdEf"
STAGING_SECRET = f"arn:aws:secretsmanager:{PRIMARY}:{ACCOUNT}:secret:gantry/example-test/aurora-master-AbCdEf"
GLOBAL_CLUSTER = f"arn:aws:rds::{ACCOUNT}:global-cluster:example-prod"
HEALTH_CHECK = "arn:aws:route53:::healthcheck/11111111-2222-3333-4444-555555555555"
PROD_MIGRATE = f"arn:aws:ecs:{PRIMARY}:{ACCOUNT}:task-definition/example-prod-cart-migrate:3"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/administrator"  # an account administrator outside the pipeline


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> least_privilege.Rendered:
    return least_privilege.rendered(tmp_path_factory.mktemp("least-privilege"))


def ask(rendered: least_privilege.Rendered, identity: str, action: str, resource: str, **context: Any) -> Request:
    principal = rendered.arn(identity) if identity in rendered.roles else identity
    return Request(principal, action, resource, context, f"{identity} {action}")


def decisions(rendered: least_privilege.Rendered, requests: list[Request], *, guard: bool = True) -> list[str]:
    return [str(r["decision"]) for r in least_privilege.simulate(requests, rendered, guard=guard)]


# What changes production, each as one request; every identity but production's own is refused all of them.
def production_changes(rendered: least_privilege.Rendered, identity: str) -> list[Request]:
    return [
        ask(rendered, identity, "ecs:UpdateService", PROD_SERVICE),
        ask(rendered, identity, "ecs:UntagResource", PROD_SERVICE),  # removing the protection tags
        ask(rendered, identity, "ecs:RunTask", PROD_MIGRATE, **{"ecs:cluster": PROD_CLUSTER}),
        ask(rendered, identity, "ssm:PutParameter", PROD_RECORD, **{"ssm:Overwrite": "false"}),
        ask(
            rendered, identity, "dynamodb:UpdateItem", TABLE, **{"dynamodb:LeadingKeys": ["gantry/example/production"]}
        ),
        ask(rendered, identity, "secretsmanager:GetSecretValue", PROD_SECRET),
        ask(rendered, identity, "rds:FailoverGlobalCluster", GLOBAL_CLUSTER),
        ask(rendered, identity, "route53:UpdateHealthCheck", HEALTH_CHECK),
        ask(rendered, identity, "ssm:PutParameter", POLICY, **{"ssm:Overwrite": "true"}),
    ]


def test_no_identity_but_production_can_change_production(rendered: least_privilege.Rendered) -> None:
    """The build identity (whose agent builds any commit a Jenkins user names) and staging's deploy identity are
    explicitly denied every production change, whatever else they are granted; production's role may."""
    for identity in ("build", "staging"):
        requests = production_changes(rendered, identity)
        found = decisions(rendered, requests)
        assert found == ["ExplicitlyDenied"] * len(requests), list(
            zip([r.action for r in requests], found, strict=True)
        )
    release = production_changes(rendered, "production")
    expected = ["Allowed"] * len(release)
    expected[1] = "ImplicitlyDenied"  # not even the release role may untag its services (the protection tags)
    expected[-1] = "ExplicitlyDenied"  # nor write the approval policy
    assert decisions(rendered, release) == expected


def test_the_guard_stops_every_other_principal_of_the_account(rendered: least_privilege.Rendered) -> None:
    """An administrator with every permission is still refused production's changes by the service control policy;
    without the guard attached, its own policy would allow them (the SCP is what stops it)."""
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    rendered = copy.copy(rendered)
    rendered.roles = {**rendered.roles, ADMIN: {"arn": ADMIN, "trust": {}, "policy": everything}}
    requests = production_changes(rendered, ADMIN)
    assert decisions(rendered, requests) == ["ExplicitlyDenied"] * len(requests)
    assert decisions(rendered, requests, guard=False) == ["Allowed"] * len(requests)


# Production changes gantry never makes (Terraform's, or nobody's): denied to the pipeline's other roles and, by the
# guard, to every principal but the exempt Terraform principals; not granted to production's role either.
PROD_TAGS = {"Customer": "example", "Environment": "prod"}
INSTANCE = f"arn:aws:ec2:{PRIMARY}:{ACCOUNT}:instance/i-0123456789abcdef0"


def beyond_gantry(rendered: least_privilege.Rendered, identity: str, tags: dict[str, str]) -> list[Request]:
    tagged = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    return [
        ask(
            rendered,
            identity,
            "ecs:CreateService",
            f"arn:aws:ecs:{PRIMARY}:{ACCOUNT}:service/example-prod/another-name",
            **{"ecs:cluster": PROD_CLUSTER},
        ),
        ask(
            rendered,
            identity,
            "ecs:ExecuteCommand",
            f"arn:aws:ecs:{PRIMARY}:{ACCOUNT}:task/example-prod/0123456789abcdef",
            **{"ecs:cluster": PROD_CLUSTER},
        ),
        ask(
            rendered, identity, "rds:ModifyDBCluster", f"arn:aws:rds:{PRIMARY}:{ACCOUNT}:cluster:example-prod-{PRIMARY}"
        ),
        ask(
            rendered,
            identity,
            "elasticloadbalancing:RegisterTargets",
            f"arn:aws:elasticloadbalancing:{PRIMARY}:{ACCOUNT}:targetgroup/exampl20261207/0123456789abcdef",
            **tagged,
        ),
        ask(rendered, identity, "ec2:TerminateInstances", INSTANCE, **tagged),
        ask(rendered, identity, "ec2:DeleteTags", INSTANCE, **tagged),  # untagged, the statement no longer applies
        ask(rendered, identity, "ssm:StartSession", INSTANCE, **{f"ssm:resourceTag/{k}": v for k, v in tags.items()}),
    ]


def test_production_beyond_what_gantry_changes_is_guarded_too(rendered: least_privilege.Rendered) -> None:
    """Another service in production's clusters, a shell in its tasks or on its nodes, its database cluster, its
    load balancers' targets: refused to the build and staging roles and, through the guard, to an administrator;
    the same requests on staging's resources are not the guard's business."""
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    rendered = copy.copy(rendered)
    rendered.roles = {**rendered.roles, ADMIN: {"arn": ADMIN, "trust": {}, "policy": everything}}
    for identity in ("build", "staging", ADMIN):
        requests = beyond_gantry(rendered, identity, PROD_TAGS)
        found = decisions(rendered, requests)
        assert found == ["ExplicitlyDenied"] * len(requests), list(
            zip([r.action for r in requests], found, strict=True)
        )
    staging_tagged = beyond_gantry(rendered, ADMIN, {"Customer": "example", "Environment": "test"})[3:]
    assert decisions(rendered, staging_tagged) == ["Allowed"] * len(staging_tagged)
    unguarded = beyond_gantry(rendered, ADMIN, PROD_TAGS)
    assert decisions(rendered, unguarded, guard=False) == ["Allowed"] * len(unguarded)


def test_only_the_release_agents_may_become_production(rendered: least_privilege.Rendered) -> None:
    trust = {identity: role["trust"]["Statement"][0]["Principal"]["AWS"] for identity, role in rendered.roles.items()}
    assert trust["production"] == [least_privilege.RELEASE_AGENT]
    assert trust["build"] == trust["staging"] == [least_privilege.BUILD_AGENT]


@pytest.mark.parametrize(
    ("release_agent", "refusal"),
    [
        (least_privilege.BUILD_AGENT, "must not share a principal"),
        (f"arn:aws:iam::{ACCOUNT}:root", "not an account"),
    ],
)
def test_the_release_agents_cannot_be_the_build_agents_nor_a_whole_account(
    tmp_path: Path, release_agent: str, refusal: str
) -> None:
    with pytest.raises(AssertionError, match=re.escape(refusal)):
        least_privilege.render(tmp_path / "root", release_agent=release_agent)


def test_staging_cannot_reach_production_nor_production_anothers(rendered: least_privilege.Rendered) -> None:
    """Each environment's identity writes only its own lease, records and data; production reads the staging
    passes its approvals follow, and writes none of staging's."""
    own = [
        ask(rendered, "staging", "ecs:UpdateService", STAGING_SERVICE),
        ask(rendered, "staging", "ssm:PutParameter", STAGING_RECORD, **{"ssm:Overwrite": "false"}),
        ask(rendered, "staging", "dynamodb:UpdateItem", TABLE, **{"dynamodb:LeadingKeys": ["gantry/example/staging"]}),
        ask(rendered, "staging", "secretsmanager:GetSecretValue", STAGING_SECRET),
        ask(rendered, "production", "ssm:GetParameter", STAGING_RECORD),
    ]
    assert decisions(rendered, own) == ["Allowed"] * len(own)
    foreign = [
        ask(rendered, "staging", "ssm:GetParameter", PROD_RECORD),
        ask(rendered, "production", "ssm:PutParameter", STAGING_RECORD, **{"ssm:Overwrite": "false"}),
        ask(rendered, "production", "ecs:UpdateService", STAGING_SERVICE),
        ask(rendered, "staging", "dynamodb:UpdateItem", TABLE, **{"dynamodb:LeadingKeys": ["gantry/example/other"]}),
        ask(rendered, "build", "ecs:UpdateService", STAGING_SERVICE),  # the build identity deploys nothing
        ask(rendered, "build", "secretsmanager:GetSecretValue", STAGING_SECRET),
    ]
    assert all(d != "Allowed" for d in decisions(rendered, foreign))


def test_records_are_create_only_for_their_writers(rendered: least_privilege.Rendered) -> None:
    overwrite = [
        ask(rendered, identity, "ssm:PutParameter", record, **{"ssm:Overwrite": "true"})
        for identity, record in (("staging", STAGING_RECORD), ("production", PROD_RECORD))
    ]
    assert decisions(rendered, overwrite) == ["ExplicitlyDenied"] * 2


def test_only_approval_administrators_write_an_approval_policy(rendered: least_privilege.Rendered) -> None:
    writes = ("ssm:PutParameter", "ssm:DeleteParameter", "ssm:LabelParameterVersion", "ssm:AddTagsToResource")
    for region in REGIONS:
        policy = POLICY.replace(PRIMARY, region)
        for identity in ("build", "staging", "production"):
            requests = [ask(rendered, identity, a, policy, **{"ssm:Overwrite": "true"}) for a in writes]
            assert decisions(rendered, requests) == ["ExplicitlyDenied"] * len(writes), identity
            assert decisions(rendered, [ask(rendered, identity, "ssm:GetParameter", policy)]) == ["Allowed"]
        admin = [ask(rendered, APPROVAL_ADMIN, "ssm:PutParameter", policy, **{"ssm:Overwrite": "true"})]
        assert decisions(rendered, admin) == ["Allowed"]  # the guard lets the administrators through
        assert decisions(rendered, [ask(rendered, APPROVAL_ADMIN, "ssm:PutParameter", PROD_RECORD)], guard=False) != [
            "Allowed"
        ]


def test_no_identity_signs_and_the_records_key_serves_through_ssm_only(rendered: least_privilege.Rendered) -> None:
    key = f"arn:aws:kms:{PRIMARY}:{ACCOUNT}:key/records-{PRIMARY}"
    via_ssm = {"kms:ViaService": f"ssm.{PRIMARY}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    for identity in ("build", "staging", "production"):
        signing = [ask(rendered, identity, a, key) for a in ("kms:Sign", "kms:GenerateMac")]
        assert decisions(rendered, signing) == ["ExplicitlyDenied"] * 2
        assert decisions(rendered, [ask(rendered, identity, "kms:Decrypt", key, **via_ssm)]) == ["Allowed"]
        direct = {**via_ssm, "kms:ViaService": f"s3.{PRIMARY}.amazonaws.com"}
        assert decisions(rendered, [ask(rendered, identity, "kms:Decrypt", key, **direct)]) != ["Allowed"]
    approver = [
        ask(rendered, APPROVER, "kms:Decrypt", key, **via_ssm),
        ask(rendered, APPROVER, "kms:Encrypt", key, **via_ssm),
    ]
    assert decisions(rendered, approver) == ["Allowed", "ImplicitlyDenied"]


def test_the_approver_reads_and_changes_nothing(rendered: least_privilege.Rendered) -> None:
    reads = [
        ask(rendered, APPROVER, "ecs:DescribeServices", PROD_SERVICE),
        ask(rendered, APPROVER, "ssm:GetParameter", POLICY),
        ask(rendered, APPROVER, "ssm:GetParameter", STAGING_RECORD),
    ]
    assert decisions(rendered, reads) == ["Allowed"] * len(reads)
    writes = [
        ask(rendered, APPROVER, "ecs:UpdateService", PROD_SERVICE),
        ask(rendered, APPROVER, "ssm:PutParameter", PROD_RECORD, **{"ssm:Overwrite": "false"}),
    ]
    assert all(d != "Allowed" for d in decisions(rendered, writes))


def test_no_wildcard_grant_but_the_actions_aws_cannot_scope(rendered: least_privilege.Rendered) -> None:
    for identity, role in rendered.roles.items():
        for statement in role["policy"]["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [a for a in actions if "*" in a], (identity, statement["Sid"])
            if statement["Resource"] == "*":
                assert set(actions) <= set(least_privilege.UNSCOPED), (identity, statement["Sid"], actions)
        granted = {a for s in role["policy"]["Statement"] if s["Effect"] == "Allow" for a in _listed(s["Action"])}
        assert {a for a in granted if a.startswith(("iam:", "sts:"))} <= {"iam:PassRole"}, identity


def test_pass_role_is_scoped_to_the_environment_and_to_ecs(rendered: least_privilege.Rendered) -> None:
    for identity in ("staging", "production"):
        (statement,) = [s for s in rendered.roles[identity]["policy"]["Statement"] if s.get("Sid") == "PassTaskRoles"]
        stack = {"staging": "test", "production": "prod"}[identity]
        assert statement["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/gantry/example/{stack}/*"]
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    passes = [
        ask(rendered, "staging", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/gantry/example/test/cart-x-task",
            **{"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
        ask(rendered, "staging", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/gantry/example/prod/cart-x-task",
            **{"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
        ask(rendered, "staging", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/gantry/example/test/cart-x-task",
            **{"iam:PassedToService": "lambda.amazonaws.com"}),
    ]  # fmt: skip
    assert decisions(rendered, passes) == ["Allowed", "ExplicitlyDenied", "ImplicitlyDenied"]


def test_every_rendered_policy_passes_parliament(rendered: least_privilege.Rendered) -> None:
    # Trust policies are not parliament's kind of document (no Resource): test_only_the_release_agents_may_become_
    # production checks them.
    documents = {f"{identity} role": role["policy"] for identity, role in rendered.roles.items()}
    documents.update(
        guard=rendered.guard, approver=rendered.approver, approval_admin=rendered.approval_admin,
        **{f"records key {r}": key for r, key in rendered.records_keys.items()},
    )  # fmt: skip
    findings = [line for name, document in documents.items() for line in least_privilege.lint(name, document)]
    assert findings == [], "\n".join(findings)


def test_the_linter_and_the_simulator_can_fail(rendered: least_privilege.Rendered) -> None:
    """The checks above are not vacuous: a misspelt action is a parliament finding, and the simulator refuses a
    request whose grant is taken away."""
    broken = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecs:UpdateServce", "Resource": "*"}],
    }
    assert any("UNKNOWN_ACTION" in line for line in least_privilege.lint("broken", broken))
    stripped = copy.deepcopy(rendered)
    policy = stripped.roles["production"]["policy"]
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "Services"]
    assert decisions(stripped, [ask(stripped, "production", "ecs:UpdateService", PROD_SERVICE)]) == ["ImplicitlyDenied"]


def test_the_scratch_root_passes_what_terraform_global_passes() -> None:
    """The rendering root mirrors terraform/global: the same module, the records key's users from the pipeline's
    roles, the same services."""
    text = (least_privilege.ROOT / "terraform/global/main.tf").read_text()
    (records,) = [
        m["records_kms"]
        for m in load_tf(least_privilege.ROOT / "terraform/global/main.tf")["module"]
        if "records_kms" in m
    ]
    assert records["source"] == "../modules/kms_key" and records["account_usage"] is False
    assert records["service_users"]["services"] == ["ssm"]
    assert "values(module.security_baseline.pipeline_role_arns)" in records["service_users"]["principal_arns"]
    assert 'source = "../modules/pipeline_iam"' in text.replace("  ", " ").replace("  ", " ")
    assert Path(least_privilege.MODULES / "pipeline_iam" / "versions.tf").read_text().count("required_providers") == 0


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]
