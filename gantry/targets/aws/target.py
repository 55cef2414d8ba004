"""AwsTarget: the Target contract (gantry/targets/base.py) on ECR, ECS, ELB, SSM, SNS and CodeCommit.

Shared stage logic (ordering, approvals, the cross-region rollback policy, smoke HTTP checks) lives in
gantry.stages; this class moves images and services in one region at a time. Two steps that need real AWS
are injectable so the rest can be tested against a local AWS API: the layer upload (`pusher`, default
skopeo) and the rollout wait (`waiter`, default polling describe_services until COMPLETED/FAILED).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

from docker import DockerClient

from gantry import taskdef
from gantry.approvals import ApprovalPolicy, Protection
from gantry.config import GantryConfig
from gantry.errors import ConfigError, DeployError, GantryError
from gantry.host.git import Commit, archive, commits, git, show
from gantry.names import check_sha
from gantry.records import RELEASES, RecordStore, release_prefix
from gantry.targets.aws import tasks
from gantry.targets.aws.alarms import Alarms
from gantry.targets.aws.clients import Clients, aws_errors
from gantry.targets.aws.database import AuroraDatabase, password_key
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
from gantry.targets.aws.settings import AwsSettings
from gantry.targets.aws.source import CODECOMMIT_AUTH, SourceCopies
from gantry.targets.aws.tasks import PollingTaskWaiter, TaskWaiter
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
        task_waiter: TaskWaiter | None = None,
    ) -> None:
        self.cfg = cfg
        self.settings = AwsSettings.of(cfg)
        self.clients = Clients(self.settings)
        self.ecr = Ecr(self.clients, self.settings.ecr_repository or cfg.service.name)
        self.pusher = pusher or SkopeoPusher(
            self.clients, cfg.regions.primary, self.settings.image_source, self.settings.registry_endpoints
        )
        self.waiter = waiter or PollingWaiter(self.settings.poll_seconds)
        self.task_waiter = task_waiter or PollingTaskWaiter(self.settings.poll_seconds)
        self.source = SourceCopies(self.clients, self.settings.regions)
        self.database = AuroraDatabase(cfg, self.settings, self.clients)
        self.alarms = Alarms(self.clients, cfg, self.settings)
        self._scratch: Path | None = None
        self._have: set[str] = set()

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
            rows.append(Component(f"{region} ECR repository", self.ecr.repository, "configured"))
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

    def act_as(self, identity: str | None, run_id: str | None) -> None:
        """The calls that follow run as `identity` ("build" or an environment): its role in aws.roles."""
        self.clients.act_as(identity, run_id)

    def records(self, env: str) -> RecordStore:
        """`env`'s records: parameters under <records_path>/<customer>/records/<env>/, which only `env`'s role
        writes (terraform/modules/pipeline_iam)."""
        self.cfg.environment(env)
        return SsmRecordStore(
            self.clients,
            self.cfg.regions.names,
            f"{self.settings.records_path}/{self.cfg.customer}/records/{env}",
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

    def build_context(self, tree: str, folder: str) -> bytes:
        """The build context at `tree`, fetched from the primary region's CodeCommit copy."""
        return archive(self._fetched(tree), tree, folder)

    def _fetched(self, commit: str) -> Path:
        """A scratch repository of this process holding `commit` and its history, fetched once from the primary
        region's source copy (removed when the process ends)."""
        check_sha(commit)
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="gantry-aws-source-"))
            atexit.register(shutil.rmtree, self._scratch, ignore_errors=True)
            git("init", "--quiet", "--bare", str(self._scratch))
        if commit not in self._have:
            url = self.source.url(self.cfg.regions.primary)
            git("fetch", "--quiet", "--end-of-options", url, commit, cwd=self._scratch, config=CODECOMMIT_AUTH)
            self._have.add(commit)
        return self._scratch

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

    def tagged(self, tag: str) -> str | None:
        image = self.ecr.find(self.cfg.regions.primary, tag=tag)
        return None if image is None else str(image["imageDigest"])

    # --- services ------------------------------------------------------------------------------------
    def deployer(self, env: str, region: str) -> EcsDeployer:
        service = self.settings.service(env, region)
        ref = ServiceRef(region, self.settings.cluster(env, region), service.service)
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
        history = self.records(env).find(RELEASES, release_prefix(self.identity(env, region)))
        for entry in reversed(history):
            if now is None or entry["digest"] != now.digest:
                return Release(sha=str(entry["sha"]), digest=str(entry["digest"]))
        return None

    def task_definition(self, env: str, region: str, release: Release) -> dict[str, Any]:
        self.cfg.check_region(env, region)
        stack = self.settings.service(env, region)
        repo = self._fetched(release.sha)
        rendered = taskdef.render(
            self.cfg,
            lambda path: show(repo, release.sha, path),
            image=f"{self.ecr.repository_uri(region)}@{release.digest}",
            sha=release.sha,
            digest=release.digest,
            env=env,
            region=region,
            family=stack.task_family,
            log_group=stack.log_group,
            database_url=self.database.url(env, region) if self.cfg.service.database else "",
            database_secret=password_key(self.database.app_secret(env, region)) if self.cfg.service.database else "",
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

    def deploy_region(
        self, env: str, region: str, release: Release, task_definition: dict[str, Any], *, force: bool = False
    ) -> bool:
        """Roll `env` in `region` to `release` with `task_definition`. Refuses (nothing changed) when the region's
        ECR lacks the digest; on a failed rollout restores the previous task definition and raises DeployError."""
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
            arn = deployer.register(task_definition)
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
            # A SecureString under the records key (terraform/approvals): decrypted through SSM.
            value = self.clients("ssm", region).get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        try:
            policy = ApprovalPolicy.model_validate_json(value)
        except ValueError as exc:
            raise GantryError(
                f"the approval policy {name} in {region} is invalid ({str(exc).splitlines()[0][:120]})"
            ) from None
        return Protection(identity=self.identity(env, region), policy=policy)

    def commits(self, sha: str, since: str | None, signers: str | None, limit: int | None = None) -> list[Commit]:
        return commits(self._fetched(sha), sha, since, signers, limit)

    def demo_key(self) -> Path | None:
        return None

    # --- the service's database ----------------------------------------------------------------------
    def migrate(self, env: str, release: Release, command: list[str], note: Note) -> list[str]:
        """A one-off task of the release's image on the region whose database takes writes, run with the master
        credentials injected by ECS (the migration execution role alone reads them)."""
        database = self.settings.database
        if database is None:
            raise ConfigError(f"{self.cfg.source}: aws.database is needed: the service has a database")
        region = self._writer_region()
        owner = self.database.prepare(env, region)
        service = self.task_definition(env, region, release)
        stack = self.settings.service(env, region)
        task = tasks.one_off(
            service,
            family=f"{service['family']}-migrate",
            command=command,
            environment={"DATABASE_URL": self.database.url(env, region, owner)},
            secrets={"DATABASE_PASSWORD": password_key(self.database.owner_secret(env, region))},
            execution_role_arn=stack.migration_execution_role_arn or stack.execution_role_arn,
            stream_prefix="migrate",
        )
        note(f"running {' '.join(command)[:60]} as a one-off task in {region}")
        cluster = self.settings.cluster(env, region)
        return tasks.run_once(self.clients, region, cluster, task, self.task_waiter, database.migration_timeout_seconds)

    def _writer_region(self) -> str:
        """The region whose Aurora cluster is the global database's writer (the primary without a DR section)."""
        if self.settings.dr is not None and self.settings.dr.global_cluster_id:
            return self.failover().writer()
        return self.cfg.regions.primary

    def health(self, env: str, region: str) -> Health:
        """The ALB's view: healthy targets of the environment's target group."""
        self.cfg.check_region(env, region)
        desired = self.cfg.replicas(env)
        service = self.settings.service(env, region)
        healthy, bad = target_health(self.clients, region, service)
        detail = f"{healthy} healthy ALB targets for {service.service}"
        if bad:
            detail += f", not healthy: {', '.join(bad)}"
        return Health(healthy=healthy, desired=desired, unhealthy=len(bad), detail=detail[:200])

    def firing_alerts(self) -> list[Alert]:
        return self.alarms.firing()

    def verify_monitoring(self, env: str, note: Note) -> str:
        return self.alarms.verify(env)

    # --- source --------------------------------------------------------------------------------------
    def push_source(self, repo: Path, commits: list[str]) -> None:
        self.source.push(repo, self.cfg.regions.primary, commits)

    def mirror_source(self) -> dict[str, str]:
        return self.source.mirror(self.cfg.regions.primary, self.cfg.regions.secondary)


def _conforms(target: AwsTarget) -> Target:
    """mypy checks here that AwsTarget implements the whole Target contract."""
    return target
