"""Schema of the `aws:` section of an environment file (owned by the aws target).

Every name here is an output of the customer's Terraform stack (see tfimport.py: `terraform output -json`
emits one object output, `gantry_aws`, with exactly this shape). Cross-checks that need the rest of the file
(region names, which environments run where) live in `check_against`, called by AwsTarget.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from gantry.config import GantryConfig
from gantry.errors import ConfigError
from gantry.names import printable
from gantry.schema import Strict, describe

ResourceName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,254}$")]
EnvName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")]
LOOPBACK_HTTP = re.compile(r"http://(127\.0\.0\.1|localhost)(:\d{1,5})?(/[^\s]*)?")


def _url(value: str | None) -> str | None:
    # Plain HTTP is accepted only on loopback (tests against moto and local stand-ins); anything else is TLS.
    if value is not None and not (value.startswith("https://") or LOOPBACK_HTTP.fullmatch(value)):
        raise ValueError(f"{printable(value)} must be an https:// URL (plain http only on 127.0.0.1)")
    return value


class AwsServiceSettings(Strict):
    """One environment's ECS service and the load balancer in front of it, in one region."""

    service: ResourceName
    # The environment's own cluster (each Terraform environment stack has one); None: the region's `cluster`.
    cluster: ResourceName | None = None
    target_group_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:elasticloadbalancing:")
    load_balancer: ResourceName | None = None
    # Overrides the ALB's DNS name (a Route 53 alias, or a stand-in on 127.0.0.1 in tests).
    url: str | None = None
    # Names the stack created for this service; the IAM roles' permissions are scoped to them.
    task_family: ResourceName | None = None
    log_group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_./#-]{1,512}$")
    execution_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::")
    task_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::")
    # The migration task's execution role: it alone reads the master credentials (the service's cannot).
    migration_execution_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::")
    # The environment's own Aurora cluster in this region (each environment stack has its own global database):
    # its endpoint, the tasks' secret and the master secret. None: the region's (or aws.database's) values.
    database_endpoint: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+$")
    database_secret_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:secretsmanager:")
    owner_secret_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:secretsmanager:")

    @field_validator("url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        return _url(value)

    @model_validator(mode="after")
    def reachable(self) -> AwsServiceSettings:
        if self.url is None and self.load_balancer is None:
            raise ValueError("set 'load_balancer' (ALB name) or 'url' so smoke tests can reach the service")
        return self


class AwsDatabaseSettings(Strict):
    """The service's Aurora PostgreSQL global database (terraform/modules/aurora_global outputs)."""

    # One database per environment: <prefix>_<environment>; the prefix and the runtime role default to the
    # service's name (dashes as underscores).
    name_prefix: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,30}$")
    user: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,30}$")
    port: int = Field(default=5432, ge=1, le=65535)
    # The master credentials (Secrets Manager): `gantry migrate` reads them to set up the runtime role, and hands
    # them to the migration task (as an ECS secret: they reach no argument or log). An environment's own
    # (aws.regions.<region>.environments.<env>.owner_secret_arn) wins.
    owner_secret_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:secretsmanager:")
    migration_timeout_seconds: float = Field(default=900, gt=0, le=7200, allow_inf_nan=False)
    # "disable" is for tests against a PostgreSQL on 127.0.0.1 only (AwsSettings refuses it elsewhere).
    sslmode: Literal["require", "verify-full", "disable"] = "verify-full"


class AwsRegionSettings(Strict):
    # The region's Aurora cluster endpoint and the secret (in that region) the service's tasks read.
    database_endpoint: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+$")
    database_secret_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:secretsmanager:")
    cluster: ResourceName
    environments: dict[EnvName, AwsServiceSettings]
    source_repository: ResourceName  # CodeCommit repository holding this region's copy of the source
    # A git URL used instead of the CodeCommit HTTPS clone URL: moto has no git server, so tests point this
    # at a bare repository on disk. Leave unset against real AWS.
    source_url: str | None = None


class DrSettings(Strict):
    """The Route 53 failover pair the DR drill exercises."""

    environment: EnvName = "production"
    hosted_zone_id: str = Field(pattern=r"^(/hostedzone/)?[A-Z0-9]{1,32}$")
    record_name: str
    health_check_id: str = Field(min_length=1)
    # The CloudWatch alarm the primary health check reads (a CLOUDWATCH_METRIC health check).
    alarm_name: str | None = None
    # invert-health-check: flip the primary health check's Inverted flag (Route 53 then sees it unhealthy
    # whatever the real state; restored afterwards). alarm-state: set_alarm_state(ALARM) on alarm_name, which
    # real CloudWatch re-evaluates at the next period, so it only suits short-period alarms.
    fault: Literal["invert-health-check", "alarm-state"] = "invert-health-check"
    # route53: Route 53's own health checker verdict (get_health_check_status) decides which record answers.
    # evaluate: gantry evaluates the failover rule itself from the health check's Inverted flag and the
    # alarm state; for a local AWS API (moto) that does not run health checkers. Simulated, says the report.
    resolver: Literal["route53", "evaluate"] = "route53"
    # The failover record's URL; /version is fetched through it when set (real DNS), else regional endpoints.
    url: str | None = None
    poll_seconds: float = Field(default=5, gt=0, le=300)
    timeout_seconds: float = Field(default=600, gt=0, le=7200)
    # The Aurora global database the drill moves (terraform/modules/aurora_global's `database` output): the
    # global cluster and each region's cluster ARN. Unset for a service without a database.
    global_cluster_id: str | None = Field(default=None, pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,62}$")
    cluster_arns: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        return _url(value)

    @model_validator(mode="after")
    def alarm_for_alarm_fault(self) -> DrSettings:
        if self.fault == "alarm-state" and self.alarm_name is None:
            raise ValueError("fault 'alarm-state' needs 'alarm_name'")
        if self.global_cluster_id is not None and len(self.cluster_arns) != 2:
            raise ValueError("global_cluster_id needs 'cluster_arns' for both regions (the aurora_global outputs)")
        for region, arn in self.cluster_arns.items():
            pattern = rf"arn:aws[a-z-]*:rds:{re.escape(region)}:[0-9]{{12}}:cluster:[a-z][a-z0-9-]{{0,62}}"
            if not re.fullmatch(pattern, arn):
                raise ValueError(f"cluster_arns.{region}: {printable(arn)} is not an RDS cluster ARN in {region}")
        return self


class AwsBaseImageSettings(Strict):
    """Where builds get their base image: the golden container base `gantry bake --target container`
    publishes to ECR in the primary region (`repository` + `tag`, resolved to its digest at build time), or an
    image elsewhere already pinned by digest (`reference`)."""

    repository: ResourceName | None = None
    tag: str = Field(default="bookworm", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    reference: str | None = Field(default=None, pattern=r"^[^@\s]+@sha256:[0-9a-f]{64}$")

    @model_validator(mode="after")
    def one_source(self) -> AwsBaseImageSettings:
        if (self.repository is None) == (self.reference is None):
            raise ValueError("set exactly one of 'repository' (ECR, pinned at build time) or 'reference'")
        return self


RoleArn = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")]
# Who a command acts as: the build identity, or one environment's (terraform/global's roles).
BUILD = "build"


class AwsSettings(Strict):
    # Set for tests against a local AWS API (moto server); unset in real use.
    endpoint_url: str | None = None
    # The role each identity assumes (terraform/global's `gantry_roles` output): "build" (source, images,
    # notifications) and one per environment (its deploys, records, lease and database). gantry assumes the one
    # a command acts as, with a session name that names the run; the agent's own credentials may assume only
    # the roles of its stage (IAM trust policies), so the build agent cannot act for production.
    roles: dict[str, RoleArn] = Field(default_factory=dict)
    # Tests only: ECR registry host -> a plain-HTTP registry on 127.0.0.1 standing in for ECR's data plane
    # (moto has no blob API). Podman and skopeo reach it through registries.conf; unset in real use.
    registry_endpoints: dict[str, str] = Field(default_factory=dict)
    profile: str | None = None
    account_id: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    ecr_repository: ResourceName | None = None  # default: the service's name
    regions: dict[str, AwsRegionSettings] = Field(default_factory=dict)
    task_execution_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::")
    task_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::")
    # Approval and staging records: SecureString parameters under this path, in both regions.
    records_path: str = Field(default="/gantry", pattern=r"^(/[A-Za-z0-9_.-]+)+$")
    records_kms_key: str = "alias/aws/ssm"
    # Where `skopeo copy` reads the locally built image from (podman's storage on build agents here).
    image_source: Literal["containers-storage", "docker-daemon"] = "containers-storage"
    replication_timeout_seconds: float = Field(default=600, gt=0, le=7200)
    deploy_timeout_seconds: float = Field(default=900, gt=0, le=7200)
    poll_seconds: float = Field(default=10, gt=0, le=300)
    max_attempts: int = Field(default=6, ge=1, le=20)  # botocore standard retry mode, first try included
    # Deploy leases: items in the DynamoDB table that also locks the Terraform state (key LockID).
    lease_table: ResourceName | None = None
    lease_seconds: float = Field(default=300, ge=30, le=3600)
    base_image: AwsBaseImageSettings | None = None
    database: AwsDatabaseSettings | None = None
    dr: DrSettings | None = None

    @field_validator("endpoint_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        return _url(value)

    @model_validator(mode="after")
    def _tls_to_databases(self) -> AwsSettings:
        if self.database is not None and self.database.sslmode == "disable":
            for name, region in self.regions.items():
                endpoints = [region.database_endpoint, *(s.database_endpoint for s in region.environments.values())]
                if any(endpoint not in (None, "127.0.0.1") for endpoint in endpoints):
                    raise ValueError(f"aws.database.sslmode 'disable' with regions.{name}'s database: use TLS")
        return self

    @field_validator("registry_endpoints")
    @classmethod
    def _loopback(cls, value: dict[str, str]) -> dict[str, str]:
        for host, location in value.items():
            if not re.fullmatch(r"127\.0\.0\.1:\d{1,5}", location):
                raise ValueError(
                    f"registry_endpoints.{printable(host)}: {printable(location)} must be 127.0.0.1:<port> (tests only)"
                )
        return value

    @classmethod
    def of(cls, cfg: GantryConfig) -> AwsSettings:
        """Validate the file's `aws:` section against the rest of the file; ConfigError names the field."""
        if not cfg.has_section("aws"):
            raise ConfigError(f"{cfg.source}: this configuration has no 'aws' section: add one (gantry aws-import)")
        try:
            settings = cls.model_validate(cfg.section("aws"))
        except ValidationError as exc:
            raise ConfigError(f"{cfg.source}: {describe(exc, 'aws')}") from None
        check_against(cfg, settings)
        if cfg.approvals.demo_signer is not None:
            raise ConfigError(f"{cfg.source}: approvals.demo_signer is for the local demo only: remove it")
        return settings

    def region(self, name: str) -> AwsRegionSettings:
        try:
            return self.regions[name]
        except KeyError:
            raise ConfigError(f"aws.regions has no '{name}' section: add it (or re-import terraform outputs)") from None

    def cluster(self, env: str, region: str) -> str:
        """The ECS cluster `env` runs on in `region`."""
        return self.service(env, region).cluster or self.region(region).cluster

    def service(self, env: str, region: str) -> AwsServiceSettings:
        try:
            return self.region(region).environments[env]
        except KeyError:
            raise ConfigError(f"aws.regions.{region}.environments has no '{env}': add its ECS service") from None


def check_against(cfg: GantryConfig, aws: AwsSettings) -> None:
    """Consistency with the rest of the file; raises ConfigError naming the field to fix."""
    for identity in aws.roles:
        if identity != BUILD and identity not in cfg.environments:
            raise ConfigError(f"aws.roles.{identity}: not '{BUILD}' nor an environment of this file")
    if aws.roles and (missing := sorted({BUILD, *cfg.environments} - set(aws.roles))):
        raise ConfigError(f"aws.roles has no role for '{missing[0]}': import the stack's outputs (gantry aws-import)")
    if set(aws.regions) != set(cfg.regions.names):
        raise ConfigError(f"aws.regions must list exactly {cfg.regions.names}, found {sorted(aws.regions)}")
    for env_name in cfg.environments:
        for region in cfg.regions_of(env_name):
            aws.service(env_name, region)
    if aws.dr is not None and aws.dr.environment not in cfg.environments:
        raise ConfigError(f"aws.dr.environment: unknown environment '{aws.dr.environment}'")
    topic = cfg.notifications.sns_topic_arn
    if topic is not None and not re.fullmatch(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}", topic):
        raise ConfigError(f"notifications.sns_topic_arn: {printable(topic)} is not an SNS topic ARN")
