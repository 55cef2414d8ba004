"""AwsTarget: the Target contract (gantry/targets/base.py) on ECR, ECS, ELB, SSM, SNS and CodeCommit.

Shared stage logic (ordering, approvals, the cross-region rollback policy, smoke HTTP checks) lives in
gantry.stages; this class moves images and services in one region at a time. Two steps that need real AWS
are injectable so the rest can be tested against a local AWS API: the layer upload (`pusher`, default
skopeo) and the rollout wait (`waiter`, default polling describe_services until COMPLETED/FAILED).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from docker import DockerClient

from gantry import taskdef
from gantry.approvals import ApprovalPolicy, Protection
from gantry.config import GantryConfig
from gantry.database import ensure_database, ensure_role
from gantry.errors import ConfigError, DeployError, GantryError
from gantry.host.git import archive, git
from gantry.records import RELEASES, RecordStore, release_prefix
from gantry.targets.aws.clients import Clients, aws_errors
from gantry.targets.aws.ecr import DIGEST_PREFIX, Ecr, ImagePusher, SkopeoPusher
from gantry.targets.aws.ecs import (
    EcsDeployer,
    PollingWaiter,
    RolloutWaiter,
    ServiceRef,
)
from gantry.targets.aws.elb import endpoint, target_health
from gantry.targets.aws.failover import AwsFailover
from gantry.targets.aws.leases import DynamoLeaseStore
from gantry.targets.aws.notify import SnsSink
from gantry.targets.aws.records import SsmRecordStore
from gantry.targets.aws.settings import AwsDatabaseSettings, AwsSettings
from gantry.targets.aws.source import CODECOMMIT_AUTH, SourceCopies
from gantry.targets.base import Alert, Component, Health, Note, NotificationSink, Published, Release, Target

# How the stack marks a protected service (modules/ecs_service) and names its approval policy (SSM).
PROTECTED_TAG = "gantry:protected"
POLICY_TAG = "gantry:approval-policy"


class AwsTarget:
    def __init__(
        self,
        cfg: GantryConfig,
        *,
        pusher: ImagePusher | None = None,
        waiter: RolloutWaiter | None = None,
    ) -> None:
        self.cfg = cfg
        self.settings = AwsSettings.of(cfg)
        self.clients = Clients(self.settings)
        self.ecr = Ecr(self.clients, self.settings.ecr_repository)
        self.pusher = pusher or SkopeoPusher(
            self.clients, cfg.regions.primary, self.settings.image_source, self.settings.registry_endpoints
        )
        self.waiter = waiter or PollingWaiter(self.settings.poll_seconds)
        self.source = SourceCopies(self.clients, self.settings.regions)

    # --- lifecycle ------------------------------------------------------------------------------------
    def up(self) -> list[Component]:
        """Nothing to start on AWS (Terraform owns the stack): check it, like `gantry doctor`."""
        from gantry.targets.aws.doctor import run_checks

        checks = run_checks(self)
        missing = [c for c in checks if not c.ok]
        if missing:
            raise GantryError(f"the stack is incomplete: {missing[0].name}: {missing[0].detail}")
        return self.components()

    def down(self, *, wait: bool) -> list[str]:
        raise GantryError("the aws target's resources belong to Terraform: run `terraform destroy` in its root")

    def components(self) -> list[Component]:
        rows = []
        for region in self.cfg.regions.names:
            cluster = self.settings.region(region).cluster
            rows.append(Component(f"{region} ECS cluster", cluster, "configured"))
            rows.append(Component(f"{region} ECR repository", self.settings.ecr_repository, "configured"))
        return rows

    # --- records, leases and notifications -----------------------------------------------------------
    def leases(self) -> DynamoLeaseStore:
        table = self.settings.lease_table
        if table is None:
            raise ConfigError(
                f"{self.cfg.source}: aws.lease_table is not set: import the stack's outputs (gantry aws-import)"
            )
        return DynamoLeaseStore(
            self.clients, self.cfg.regions.primary, table, self.cfg.customer, self.settings.lease_seconds
        )

    def records(self) -> RecordStore:
        return SsmRecordStore(
            self.clients,
            self.cfg.regions.names,
            f"{self.settings.records_path}/{self.cfg.customer}",
            self.settings.records_kms_key,
        )

    def sinks(self) -> list[NotificationSink]:
        """SNS when notifications.sns_topic_arn is set (file, webhooks and Slack are common sinks)."""
        sinks: list[NotificationSink] = []
        if self.cfg.notifications.sns_topic_arn:
            sinks.append(SnsSink(self.clients, self.cfg.notifications.sns_topic_arn))
        return sinks

    # --- images --------------------------------------------------------------------------------------
    def engine_registries(self) -> dict[str, str]:
        return dict(self.settings.registry_endpoints)

    def engine_login(self, client: DockerClient) -> None:
        """Let the engine pull from the primary region's ECR (the golden base) with a short-lived token."""
        if self.settings.registry_endpoints:
            return  # the stand-in registries of a local AWS API take no credentials
        registry, user, password = self.ecr.credentials(self.cfg.regions.primary)
        client.login(username=user, password=password, registry=registry, reauth=True)

    def base_image(self, note: Note) -> str:
        """The golden base pinned by digest: `aws.base_image.reference`, or the digest ECR holds for
        `aws.base_image.repository:tag` in the primary region (published by `gantry bake --target container`)."""
        base = self.settings.base_image
        if base is None:
            raise ConfigError(
                f"{self.cfg.source}: aws.base_image is not set: name the ECR repository that "
                "`gantry bake --target container` publishes to (aws.base_image.repository)"
            )
        if base.reference is not None or base.repository is None:
            return str(base.reference)
        primary = self.cfg.regions.primary
        golden = Ecr(self.clients, base.repository)
        note(f"resolving {base.repository}:{base.tag} in ECR {primary}")
        image = golden.find(primary, tag=base.tag)
        if image is None:
            raise GantryError(
                f"ECR {primary} has no {base.repository}:{base.tag}: run `gantry bake --target container` first"
            )
        return f"{golden.repository_uri(primary)}@{image['imageDigest']}"

    def build_context(self, tree: str, paths: list[str]) -> bytes:
        """The build paths at `tree`, fetched from the primary region's CodeCommit copy."""
        with self._fetched(tree) as repo:
            return archive(repo, tree, paths)

    @contextlib.contextmanager
    def _fetched(self, commit: str) -> Iterator[Path]:
        """A scratch repository holding `commit`, fetched from the primary region's source copy."""
        url = self.source.url(self.cfg.regions.primary)
        scratch = Path(tempfile.mkdtemp(prefix="gantry-aws-source-"))
        try:
            git("init", "--quiet", "--bare", str(scratch))
            git("fetch", "--quiet", "--depth=1", url, commit, cwd=scratch, config=CODECOMMIT_AUTH)
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def publish(self, local_image: str, tag: str) -> Published:
        """Push to the primary region's ECR (injectable pusher), check the registry stored the digest the
        pusher reported, then wait (replication_timeout_seconds) until every other region holds it."""
        primary = self.cfg.regions.primary
        digest = self.pusher.push(local_image, self.ecr.repository_uri(primary), tag)
        if not digest.startswith(DIGEST_PREFIX):
            raise GantryError(f"the push reported '{digest}', not a sha256 digest: check the pusher")
        self.ecr.verify(primary, tag, digest, poll=self.settings.poll_seconds)
        for region in self.cfg.regions.names[1:]:
            self.ecr.wait_for(
                region, tag, digest, self.settings.replication_timeout_seconds, self.settings.poll_seconds
            )
        refs = {region: f"{self.ecr.repository_uri(region)}@{digest}" for region in self.cfg.regions.names}
        return Published(digest=digest, references=refs)

    def find_published(self, tag: str) -> Published | None:
        """The image already pushed as `tag` (ECR tags are immutable), once every region holds it."""
        image = self.ecr.find(self.cfg.regions.primary, tag=tag)
        if image is None:
            return None
        digest: str = image["imageDigest"]
        if any(self.ecr.find(region, digest=digest) is None for region in self.cfg.regions.names[1:]):
            return None  # not replicated yet: publish() waits for it
        refs = {region: f"{self.ecr.repository_uri(region)}@{digest}" for region in self.cfg.regions.names}
        return Published(digest=digest, references=refs)

    # --- services ------------------------------------------------------------------------------------
    def deployer(self, env: str, region: str) -> EcsDeployer:
        service = self.settings.service(env, region)
        ref = ServiceRef(region, self.settings.region(region).cluster, service.service)
        return EcsDeployer(self.clients("ecs", region), ref, self.waiter, self.settings.deploy_timeout_seconds)

    def current_release(self, env: str, region: str) -> Release | None:
        self.cfg.check_region(env, region)
        arn = self.deployer(env, region).describe().get("taskDefinition")
        if not arn:
            return None
        with aws_errors(f"describe_task_definition {arn} in {region}"):
            task = self.clients("ecs", region).describe_task_definition(taskDefinition=arn)["taskDefinition"]
        for container in task.get("containerDefinitions", []):
            env_vars = {e["name"]: e["value"] for e in container.get("environment", [])}
            if env_vars.get("GIT_SHA") and env_vars.get("IMAGE_DIGEST", "").startswith(DIGEST_PREFIX):
                return Release(sha=env_vars["GIT_SHA"], digest=env_vars["IMAGE_DIGEST"])
        return None  # the stack's placeholder task definition, before gantry's first deploy

    def previous_release(self, env: str, region: str) -> Release | None:
        """The newest release before the current one that reached steady state on this service (from the
        release history gantry records after each deploy): never a revision whose rollout failed, nor one
        another environment registered in the same family."""
        now = self.current_release(env, region)
        history = self.records().find(RELEASES, release_prefix(self.identity(env, region)))
        for entry in reversed(history):
            if now is None or entry["digest"] != now.digest:
                return Release(sha=str(entry["sha"]), digest=str(entry["digest"]))
        return None

    def task_definition(self, env: str, region: str, release: Release) -> dict[str, Any]:
        stack = self.settings.service(env, region)
        rendered = taskdef.render(
            self.cfg,
            image=f"{self.ecr.repository_uri(region)}@{release.digest}",
            sha=release.sha,
            digest=release.digest,
            env=env,
            region=region,
            family=stack.task_family,
            log_group=stack.log_group,
            database_url=self.database_url(env, region) if self.cfg.service.database else "",
            database_secret=_password_key(self.settings.region(region).database_secret_arn),
        )
        execution_role = stack.execution_role_arn or self.settings.task_execution_role_arn
        task_role = stack.task_role_arn or self.settings.task_role_arn
        if execution_role:
            rendered["executionRoleArn"] = execution_role
        if task_role:
            rendered["taskRoleArn"] = task_role
        rendered["tags"] = [
            {"key": "gantry:sha", "value": release.sha},
            {"key": "gantry:digest", "value": release.digest},
        ]
        return rendered

    def deploy_region(self, env: str, region: str, release: Release, *, force: bool = False) -> bool:
        """Roll `env` in `region` to `release`. Refuses (nothing changed) when the region's ECR lacks the
        digest; on a failed rollout restores the previous task definition and raises DeployError."""
        self.cfg.check_region(env, region)
        if not force and self.current_release(env, region) == release:
            return False
        if self.ecr.find(region, digest=release.digest) is None:
            raise DeployError(
                f"{region} has no image {release.digest[:19]}: nothing changed there; run gantry push "
                "(replication must finish before deploying)"
            )
        deployer = self.deployer(env, region)
        try:
            arn = deployer.register(self.task_definition(env, region, release))
        except GantryError as exc:
            raise DeployError(f"{exc} (nothing changed in {region})") from None
        deployer.roll(arn)
        return True

    def endpoint(self, env: str, region: str) -> str:
        self.cfg.check_region(env, region)
        return endpoint(self.clients, region, self.settings.service(env, region))

    def failover(self) -> AwsFailover:
        return AwsFailover(self)

    def global_endpoint(self, env: str) -> str | None:
        dr = self.settings.dr
        return dr.url if dr is not None and dr.environment == env else None

    # --- approvals -----------------------------------------------------------------------------------
    def identity(self, env: str, region: str) -> str:
        """The ECS service's ARN names the account, region, cluster and service."""
        arn = self.deployer(env, region).describe()["serviceArn"]
        return f"aws:{arn}"

    def protection(self, env: str, region: str) -> Protection | None:
        """Protected when the stack tagged the service `gantry:protected=true`; the policy is the SSM parameter
        the tag `gantry:approval-policy` names, which the stack writes and the deploy role can only read."""
        service = self.deployer(env, region).describe(tags=True)
        tags = {t["key"]: t["value"] for t in service.get("tags", [])}
        if tags.get(PROTECTED_TAG) != "true":
            return None
        name = tags.get(POLICY_TAG)
        if not name:
            raise GantryError(
                f"{service['serviceName']} in {region} is protected but names no {POLICY_TAG}: apply the stack"
            )
        with aws_errors(f"reading the approval policy {name} in {region}", "apply the Terraform stack"):
            value = self.clients("ssm", region).get_parameter(Name=name)["Parameter"]["Value"]
        try:
            policy = ApprovalPolicy.model_validate_json(value)
        except ValueError as exc:
            raise GantryError(
                f"the approval policy {name} in {region} is invalid ({str(exc).splitlines()[0][:120]})"
            ) from None
        return Protection(identity=self.identity(env, region), policy=policy)

    def commit_author(self, sha: str) -> str | None:
        with self._fetched(sha) as repo:
            return git("log", "-1", "--format=%ae", sha, cwd=repo).strip() or None

    def demo_key(self) -> Path | None:
        return None

    # --- the service's database ----------------------------------------------------------------------
    def _database(self, region: str) -> tuple[AwsDatabaseSettings, str]:
        database = self.settings.database
        endpoint = self.settings.region(region).database_endpoint
        if database is None or endpoint is None:
            raise ConfigError(
                f"{self.cfg.source}: aws.database and aws.regions.{region}.database_endpoint are needed: the service "
                "has a database (import the aurora_global outputs with gantry aws-import)"
            )
        return database, endpoint

    def database_url(self, env: str, region: str) -> str:
        database, endpoint = self._database(region)
        name = f"{database.name_prefix}_{env.replace('-', '_')}"
        return f"host={endpoint} port={database.port} dbname={name} user={database.user} sslmode={database.sslmode}"

    @contextlib.contextmanager
    def migration_database(self, env: str) -> Iterator[str]:
        """The primary region's writer, as the master user, whose password the migration reads from Secrets
        Manager into a 0600 passfile that is gone when the migration ends."""
        primary = self.cfg.regions.primary
        database, endpoint = self._database(primary)
        with aws_errors(f"reading {database.owner_secret_arn}", "check the secret and the role's access to it"):
            raw = self.clients("secretsmanager", primary).get_secret_value(SecretId=database.owner_secret_arn)
        credentials = json.loads(raw["SecretString"])
        user = str(credentials["username"])
        name = f"{database.name_prefix}_{env.replace('-', '_')}"
        self._provision_database(database, endpoint, credentials, name)
        with tempfile.TemporaryDirectory(prefix="gantry-migrate-") as scratch:
            passfile = Path(scratch) / "pgpass"
            fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(f"*:*:*:{user}:{credentials['password']}\n")
            yield (
                f"postgresql+psycopg://{quote(user)}@{endpoint}:{database.port}/{name}"
                f"?sslmode={database.sslmode}&passfile={quote(str(passfile), safe='')}"
            )

    def _provision_database(
        self, database: AwsDatabaseSettings, endpoint: str, owner: dict[str, Any], name: str
    ) -> None:
        """The runtime role with the password of the tasks' secret, and the environment's database, made (or the
        password rotated) by the master user before the migrations run (Aurora creates neither)."""
        primary = self.cfg.regions.primary
        secret_arn = self.settings.region(primary).database_secret_arn
        if secret_arn is None:
            raise ConfigError(f"aws.regions.{primary}.database_secret_arn is needed: import the aurora_global outputs")
        with aws_errors(f"reading {secret_arn}", "check the secret and the role's access to it"):
            app = json.loads(
                self.clients("secretsmanager", primary).get_secret_value(SecretId=secret_arn)["SecretString"]
            )
        if app.get("username") != database.user:
            raise ConfigError(f"{secret_arn} is for {app.get('username')!r}, not aws.database.user {database.user!r}")
        try:
            with psycopg.connect(
                host=endpoint,
                port=database.port,
                dbname=str(owner.get("dbname") or "postgres"),
                user=str(owner["username"]),
                password=str(owner["password"]),
                sslmode=database.sslmode,
                connect_timeout=10,
                autocommit=True,
            ) as conn:
                ensure_role(conn, database.user, str(app["password"]))
                ensure_database(conn, name, owner=str(owner["username"]), app_role=database.user)
        except psycopg.Error as exc:  # the driver's message names the host, never the password
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            raise GantryError(
                f"cannot prepare database {name} on {endpoint} ({reason}): check the cluster, its security group "
                "and the master secret"
            ) from None

    def health(self, env: str, region: str) -> Health:
        """The ALB's view: healthy targets of the environment's target group."""
        self.cfg.check_region(env, region)
        desired = self.cfg.environment(env).replicas
        service = self.settings.service(env, region)
        healthy, bad = target_health(self.clients, region, service)
        detail = f"{healthy} healthy ALB targets for {service.service}"
        if bad:
            detail += f", not healthy: {', '.join(bad)}"
        return Health(healthy=healthy, desired=desired, unhealthy=len(bad), detail=detail[:200])

    def firing_alerts(self) -> list[Alert]:
        """The customer's CloudWatch alarms in ALARM, in both regions."""
        firing = []
        for region in self.cfg.regions.names:
            with aws_errors(f"describe_alarms in {region}"):
                alarms = self.clients("cloudwatch", region).describe_alarms(
                    AlarmNamePrefix=f"{self.cfg.customer}-", StateValue="ALARM"
                )["MetricAlarms"]
            firing += [
                Alert(
                    name=f"{region}:{alarm['AlarmName']}",
                    severity="alarm",
                    summary=alarm.get("AlarmDescription") or alarm.get("StateReason", ""),
                    since=str(alarm.get("StateUpdatedTimestamp", "")),
                )
                for alarm in alarms
            ]
        return firing

    def verify_monitoring(self, env: str, note: Note) -> str:
        """Every CloudWatch alarm of the environment's services is OK (none in ALARM)."""
        firing = []
        for region in self.cfg.regions_of(env):
            prefix = f"{self.cfg.customer}-{self.cfg.service.name}-{env}"
            with aws_errors(f"describe_alarms in {region}"):
                alarms = self.clients("cloudwatch", region).describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
            firing += [f"{region}:{a['AlarmName']}" for a in alarms if a.get("StateValue") == "ALARM"]
        if firing:
            raise GantryError(f"CloudWatch alarms firing for {env}: {', '.join(firing)[:200]}: investigate first")
        return "no CloudWatch alarm firing"

    # --- source --------------------------------------------------------------------------------------
    def push_source(self, repo: Path) -> None:
        self.source.push(repo, self.cfg.regions.primary)

    def mirror_source(self) -> dict[str, str]:
        return self.source.mirror(self.cfg.regions.primary, self.cfg.regions.secondary)


def _password_key(secret_arn: str | None) -> str:
    """ECS `secrets[].valueFrom` for the `password` key of a JSON secret (the RDS secret layout)."""
    if not secret_arn:
        return ""
    return secret_arn if secret_arn.count(":") > 6 else f"{secret_arn}:password::"


def _conforms(target: AwsTarget) -> Target:
    """mypy checks here that AwsTarget implements the whole Target contract."""
    return target
