"""Configuration of the aws target, Terraform output import, task definition rendering and the ECS rollout
states real AWS returns (moto never produces COMPLETED/FAILED for a new task definition). No AWS API here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gantry.config import load_config
from gantry.errors import ConfigError, GantryError
from gantry.targets.aws.ecs import rollout_state
from gantry.targets.aws.settings import AwsSettings
from gantry.targets.aws.target import AwsTarget
from gantry.targets.aws.tfimport import import_outputs
from gantry.taskdef import fill as render_task_definition

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "environments/example/aws.yaml"
ARN = "arn:aws:ecs:us-east-1:111122223333:task-definition/example-cart-production:"


def write(tmp_path, raw):
    path = tmp_path / "env.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def example():
    return yaml.safe_load(EXAMPLE.read_text())


def test_example_environment_is_valid_and_matches_local():
    cfg = load_config(str(EXAMPLE))
    local = load_config(str(ROOT / "environments/example/local.yaml"))
    assert (cfg.customer, cfg.service, cfg.regions, cfg.environments) == (
        local.customer,
        local.service,
        local.regions,
        local.environments,
    )
    settings = AwsTarget(cfg).settings
    assert settings.regions["us-west-2"].environments["production"].service == "cart"
    # Each environment on its own stack's cluster, every identity with its own role.
    assert (settings.cluster("staging", "us-east-1"), settings.cluster("production", "us-east-1")) == (
        "example-test",
        "example-prod",
    )
    assert set(settings.roles) == {"build", "staging", "production"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["aws"].update(regon="x"), r"aws.regon: unknown field"),
        (lambda r: r["aws"]["regions"]["us-east-1"].update(cluster=""), r"aws.regions.us-east-1.cluster"),
        (lambda r: r["aws"].update(endpoint_url="http://moto.example:5000"), "must be an https:// URL"),
        (lambda r: r["aws"].update(max_attempts=0), "aws.max_attempts"),
        (lambda r: r["aws"]["dr"].update(fault="alarm-state", alarm_name=None), "needs 'alarm_name'"),
        (
            lambda r: r["aws"]["regions"]["us-east-1"]["environments"]["staging"].update(load_balancer=None),
            "set 'load_balancer'",
        ),
        (lambda r: r.pop("aws"), "target 'aws' needs a 'aws' section"),
        (lambda r: r["aws"].update(base_image={"repository": "example/golden-base", "reference": "x"}), "base_image"),
        (lambda r: r["aws"].update(registry_endpoints={"ecr.example": "10.0.0.1:5000"}), "must be 127.0.0.1"),
    ],
)
def test_schema_errors_name_the_field(tmp_path, change, message):
    raw = example()
    change(raw)
    with pytest.raises(ConfigError, match=message):
        AwsTarget(load_config(str(write(tmp_path, raw))))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["aws"]["regions"].update({"eu-west-1": r["aws"]["regions"].pop("us-west-2")}),
            r"aws.regions must list exactly \['us-east-1', 'us-west-2'\]",
        ),
        (
            lambda r: r["aws"]["regions"]["us-east-1"]["environments"].pop("staging"),
            "aws.regions.us-east-1.environments has no 'staging'",
        ),
        (lambda r: r["notifications"].update(sns_topic_arn="gantry-topic"), "is not an SNS topic ARN"),
        (lambda r: r["aws"]["dr"].update(environment="canary"), "unknown environment .canary."),
    ],
)
def test_cross_checks_name_the_field(tmp_path, change, message):
    raw = example()
    change(raw)
    cfg = load_config(str(write(tmp_path, raw)))
    with pytest.raises(ConfigError, match=message):
        AwsTarget(cfg)


def test_terraform_outputs_fill_the_aws_section(tmp_path):
    raw = example()
    del raw["aws"]["regions"]
    raw["aws"].update(poll_seconds=7, deploy_timeout_seconds=123)  # not defaults: they must survive the import
    config_file = write(tmp_path, raw)
    stack = example()["aws"]
    stack["regions"]["us-east-1"]["cluster"] = "from-terraform"
    outputs = {
        "gantry_aws": {"sensitive": False, "type": "object", "value": {"regions": stack["regions"]}},
        "vpc_id": {"sensitive": False, "type": "string", "value": "vpc-1"},
    }
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    written = import_outputs(config_file, tmp_path / "outputs.json")
    cfg = load_config(str(written))
    assert AwsSettings.of(cfg).regions["us-east-1"].cluster == "from-terraform"
    settings = AwsSettings.of(cfg)
    assert (settings.poll_seconds, settings.deploy_timeout_seconds) == (7, 123)  # kept from the file


def test_terraform_outputs_without_gantry_output_are_refused(tmp_path):
    (tmp_path / "outputs.json").write_text(json.dumps({"vpc_id": {"value": "vpc-1"}}))
    with pytest.raises(ConfigError, match="lack 'gantry_aws'"):
        import_outputs(EXAMPLE, tmp_path / "outputs.json", tmp_path / "out.yaml")


def test_invalid_terraform_outputs_do_not_touch_the_file(tmp_path):
    config_file = write(tmp_path, example())
    before = config_file.read_text()
    outputs = {"gantry_aws": {"value": {"regions": {"us-east-1": {"clustr": "c"}}}}}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    with pytest.raises(
        ConfigError, match=r"imported outputs are invalid: .*aws.regions.us-east-1.clustr: unknown field"
    ):
        import_outputs(config_file, tmp_path / "outputs.json")
    assert config_file.read_text() == before


def test_task_definition_template_pins_the_digest():
    values = {
        "family": "f",
        "container_name": "cart",
        "image": "r/cart@sha256:" + "a" * 64,
        "cpu": 256,
        "memory": 256,
        "container_port": 80,
        "git_sha": "1" * 40,
        "image_digest": "sha256:" + "a" * 64,
        "deploy_env": "production",
        "region": "us-east-1",
        "log_group": "/gantry/example/cart/production",
        "database_url": "host=db.example port=5432 dbname=cart_production user=cart sslmode=verify-full",
        "database_secret_arn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:cart",
    }
    template = (ROOT / "services/cart/task-definition.json.tpl").read_text()
    rendered = render_task_definition(template, values)
    container = rendered["containerDefinitions"][0]
    assert container["image"].endswith("@sha256:" + "a" * 64)
    assert container["readonlyRootFilesystem"] is True
    with pytest.raises(GantryError, match=r"uses \$\{region\}, which gantry does not provide"):
        render_task_definition(template, {k: v for k, v in values.items() if k != "region"})


def deployment(rev, state, running=2, status="PRIMARY", reason=""):
    return {
        "taskDefinition": f"{ARN}{rev}",
        "rolloutState": state,
        "runningCount": running,
        "desiredCount": 2,
        "status": status,
        "rolloutStateReason": reason,
    }


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ({"taskDefinition": f"{ARN}2", "deployments": [deployment(2, "COMPLETED")]}, "COMPLETED"),
        (
            {
                "taskDefinition": f"{ARN}2",
                "deployments": [deployment(2, "IN_PROGRESS", 1), deployment(1, "COMPLETED", status="ACTIVE")],
            },
            "IN_PROGRESS",
        ),
        (
            {"taskDefinition": f"{ARN}2", "deployments": [deployment(2, "FAILED", 0, reason="circuit breaker")]},
            "FAILED",
        ),
        # ECS's circuit breaker with rollback=True: our deployment is gone and the service is back on rev 1.
        ({"taskDefinition": f"{ARN}1", "deployments": [deployment(1, "IN_PROGRESS", 1)]}, "FAILED"),
        # What moto shows after update_service: the service names rev 2, the deployment list still rev 1.
        ({"taskDefinition": f"{ARN}2", "deployments": [deployment(1, "COMPLETED")]}, "IN_PROGRESS"),
    ],
)
def test_rollout_states(service, expected):
    assert rollout_state(service, f"{ARN}2")[0] == expected


def test_per_environment_stack_deploy_targets_are_imported(tmp_path):
    role = "arn:aws:iam::111122223333:role/"
    outputs = {
        "deploy_targets": {
            "value": {
                region: {
                    "cluster": f"prod-{region}",
                    "service": "cart",
                    "task_family": "example-prod-cart",
                    "execution_role_arn": role + "exec",
                    "task_role_arn": role + "task",
                    "log_group": "/ecs/example-prod-cart",
                    "url": f"https://{region}.cart.example.com",
                }
                for region in ("us-east-1", "us-west-2")
            }
        }
    }
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    written = import_outputs(EXAMPLE, tmp_path / "outputs.json", tmp_path / "out.yaml", env="production")
    target = AwsTarget(load_config(str(written)))
    service = target.settings.service("production", "us-west-2")
    assert (service.service, service.task_family, service.log_group) == (
        "cart",
        "example-prod-cart",
        "/ecs/example-prod-cart",
    )
    assert target.settings.cluster("production", "us-west-2") == "prod-us-west-2"
    # Staging keeps what the file had (its own stack's cluster); only production came from this stack.
    assert target.settings.cluster("staging", "us-east-1") == "example-test"


def test_the_database_and_failover_outputs_are_imported_for_the_drill(tmp_path):
    arn = "arn:aws:rds:{}:111122223333:cluster:example-prod-{}"
    secret = "arn:aws:secretsmanager:{}:111122223333:secret:example-prod-aurora-{}"
    regions = ("us-east-1", "us-west-2")
    outputs = {
        "deploy_targets": {
            "value": {
                region: {
                    "cluster": f"prod-{region}",
                    "service": "cart",
                    "db_endpoint": f"example-prod-{region}.cluster-abc.{region}.rds.amazonaws.com",
                    "db_secret_arn": secret.format(region, region),
                }
                for region in regions
            }
        },
        "failover": {
            "value": {
                "hosted_zone_id": "Z123EXAMPLE",
                "record_name": "production.example.com",
                "health_check_id": "hc-1",
            }
        },
        "database": {
            "value": {
                "global_cluster_id": "example-production",
                "regions": {r: {"cluster_arn": arn.format(r, r), "secret_arn": secret.format(r, r)} for r in regions},
            }
        },
    }
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    written = import_outputs(EXAMPLE, tmp_path / "outputs.json", tmp_path / "out.yaml", env="production")
    settings = AwsTarget(load_config(str(written))).settings
    assert settings.dr is not None and settings.dr.global_cluster_id == "example-production"
    assert settings.dr.cluster_arns["us-west-2"] == arn.format("us-west-2", "us-west-2")
    assert (settings.dr.url, settings.dr.health_check_id) == ("https://production.example.com", "hc-1")
    # The environment's own database: its secrets in each region, on its service's settings.
    for region in regions:
        service = settings.service("production", region)
        assert (service.owner_secret_arn, service.database_secret_arn) == (secret.format(region, region),) * 2


def test_the_records_key_is_imported_from_an_environment_root_or_the_global_root(tmp_path):
    records = {"value": {"path": "/gantry", "kms_key": "alias/example-gantry-records", "kms_key_arn": "arn:aws:kms:x"}}
    targets = {
        "value": {"us-east-1": {"cluster": "c1", "service": "cart"}, "us-west-2": {"cluster": "c2", "service": "cart"}}
    }
    (tmp_path / "env.json").write_text(json.dumps({"deploy_targets": targets, "records": records}))
    written = import_outputs(EXAMPLE, tmp_path / "env.json", tmp_path / "env.yaml", env="production")
    assert AwsTarget(load_config(str(written))).settings.records_kms_key == "alias/example-gantry-records"
    (tmp_path / "global.json").write_text(json.dumps({"records": records, "pipeline_topic_arn": {"value": "x"}}))
    written = import_outputs(EXAMPLE, tmp_path / "global.json", tmp_path / "global.yaml")
    settings = AwsTarget(load_config(str(written))).settings
    assert (settings.records_path, settings.records_kms_key) == ("/gantry", "alias/example-gantry-records")


def test_database_and_repository_names_default_to_the_services(tmp_path, monkeypatch):
    """No service name is built in: the database prefix, the runtime role and the ECR repository follow the
    service unless the aws section names them."""
    folder = tmp_path / "services/web-api"
    folder.mkdir(parents=True)
    for name in ("Dockerfile", "task-definition.json.tpl"):
        (folder / name).write_text((ROOT / "services/cart" / name).read_text())
    (folder / "service.yaml").write_text(
        (ROOT / "services/cart/service.yaml").read_text().replace("name: cart", "name: web-api")
    )
    monkeypatch.setenv("GANTRY_ROOT", str(tmp_path))  # the checkout holding services/web-api
    raw = example()
    raw["services"] = ["web-api"]
    raw["aws"].pop("ecr_repository")
    target = AwsTarget(load_config(str(write(tmp_path, raw))))
    assert (target.database.name("production"), target.database.runtime_role) == ("web_api_production", "web_api")
    assert target.ecr.repository == "web-api"
    raw["aws"]["database"].update(name_prefix="shop", user="shop_app")
    raw["aws"]["ecr_repository"] = "acme/web"
    target = AwsTarget(load_config(str(write(tmp_path, raw))))
    assert (target.database.name("production"), target.database.runtime_role) == ("shop_production", "shop_app")
    assert target.ecr.repository == "acme/web"
