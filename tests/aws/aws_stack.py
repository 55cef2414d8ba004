"""Test helpers for the aws target: a moto server process, a stand-in for the Terraform stack, a throttling
proxy, /version stand-ins for the ALBs, and the two steps moto cannot perform (registry push, replication).

Everything here talks to the moto server over real HTTP on 127.0.0.1; nothing patches boto3 in-process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import least_privilege
import motoserver
import yaml
from botocore.config import Config

from gantry.host import ports

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(24000, 25000)  # the aws helper's range (see /tmp/conventions.md)
PRIMARY, SECONDARY = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"  # moto's default account
REPO = "example/cart"
LOCK_TABLE = "example-terraform-locks"


def free_port(start: int = 24000) -> int:
    return ports.free_port(start, PORTS.stop)


@contextmanager
def moto_server() -> Iterator[str]:
    # Services start with 2 running tasks, so capacity checks see what a healthy stack reports. It does not
    # make deployments of new task definitions complete: moto never runs them.
    with motoserver.moto_server(free_port(), {"MOTO_ECS_SERVICE_RUNNING": "2"}) as url:
        yield url


def reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()


@functools.cache
def client(url: str, service: str, region: str) -> Any:
    # Cached: building a boto3 client costs ~0.1 s, and provisioning makes dozens of calls per test.
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard"}),
    )


# --- the stack (what the Terraform helper's modules create) -----------------------------------------------
def _network(url: str, region: str) -> tuple[str, list[str]]:
    ec2 = client(url, "ec2", region)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{region}{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate("ab")
    ]
    return vpc, subnets


def _alb(url: str, region: str, name: str, vpc: str, subnets: list[str]) -> dict[str, str]:
    elb = client(url, "elbv2", region)
    lb = elb.create_load_balancer(Name=name, Subnets=subnets, Scheme="internet-facing", Type="application")
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elb.create_target_group(
        Name=name[:32], Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip", HealthCheckPath="/healthz"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}]
    )
    elb.register_targets(
        TargetGroupArn=tg, Targets=[{"Id": "10.20.0.10", "Port": 80}, {"Id": "10.20.1.10", "Port": 80}]
    )
    return {"load_balancer": name, "target_group_arn": tg, "dns": lb["LoadBalancers"][0]["DNSName"]}


def _capacity(url: str, region: str, cluster: str) -> None:
    """One container instance in the cluster (modules/ecs_cluster's autoscaling group has them): RunTask needs one."""
    ec2 = client(url, "ec2", region)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    document = json.dumps({"instanceId": instance, "region": region, "accountId": ACCOUNT})
    client(url, "ecs", region).register_container_instance(cluster=cluster, instanceIdentityDocument=document)


def _service(url: str, region: str, cluster: str, name: str, tags: list[dict[str, str]]) -> None:
    ecs = client(url, "ecs", region)
    # The stack's bootstrap task definition: no GIT_SHA, so current_release() is None until gantry deploys.
    placeholder = ecs.register_task_definition(
        family=f"{name}-bootstrap",
        containerDefinitions=[
            {"name": "cart", "image": "public.ecr.aws/nginx/nginx:stable", "cpu": 128, "memory": 128, "essential": True}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=cluster, serviceName=name, taskDefinition=placeholder, desiredCount=2, launchType="EC2", tags=tags
    )


# Outside the records paths (/gantry/example/records/<env>): every role reads it, none may write it.
POLICY_PARAMETER = "/gantry-approval-policy/example/production"
APPROVERS = ("alice@example.com", "bob@example.com")
# The Terraform stack each pipeline environment lives in, and so the names of its resources (modules/region,
# ecs_service, aurora_global and pipeline_iam name them <customer>-<stack>...).
STACKS = {"staging": "test", "production": "prod"}
ENVS = {PRIMARY: ["staging", "production"], SECONDARY: ["production"]}


def service_files(work: Path, *, database: bool) -> None:
    """The cart's folder as a checkout at `work` has it (its contract, Dockerfile and task definition template);
    without `database`, its contract declares none."""
    folder = work / "services/cart"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("Dockerfile", "task-definition.json.tpl"):
        (folder / name).write_text((ROOT / "services/cart" / name).read_text())
    declared = yaml.safe_load((ROOT / "services/cart/service.yaml").read_text())
    if not database:
        declared.pop("database")
    (folder / "service.yaml").write_text(yaml.safe_dump(declared))


def source_commit(tmp: Path, bare: Path, *, database: bool = False) -> str:
    """A commit holding the service's folder (what a release's commit has), pushed to the stand-in for the
    primary region's CodeCommit copy; its sha is what the tests ship. The checkout is the one gantry runs from
    (GANTRY_ROOT): its contract declares a database only with `database`."""
    work = tmp / "source-work"
    if not work.exists():
        service_files(work, database=database)
        subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
        subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
        identity = ["-c", "user.email=dev@example.com", "-c", "user.name=dev"]
        subprocess.run(["git", "-C", str(work), *identity, "commit", "-qm", "the service"], check=True)
    sha = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    subprocess.run(
        ["git", "-C", str(work), "push", "-q", "-f", str(bare), f"HEAD:refs/gantry/builds/{sha}"], check=True
    )
    return sha


@dataclass(frozen=True)
class AuroraStandIn:
    """A real PostgreSQL on 127.0.0.1 in place of the Aurora global database (moto runs no database): its port,
    the master user's credentials (what the aurora_global module stores per region) and the tasks' role."""

    port: int
    master_user: str
    master_password: str
    app_password: str
    socket_dir: Path  # how containers reach it (their 127.0.0.1 is their own)


@contextmanager
def aurora_stand_in(directory: Path) -> Iterator[AuroraStandIn]:
    """A PostgreSQL 15 cluster (gantry's local-target cluster code) whose `cart_owner` has what Aurora's master
    user has through rds_superuser here (CREATEROLE, CREATEDB); stopped afterwards."""
    import shutil

    from gantry.host import ports
    from gantry.targets.local import postgres
    from gantry.targets.local.layout import database_dir

    where = database_dir(directory)  # reachable by the postgres user when the tests run as root
    where.mkdir(mode=0o711, parents=True, exist_ok=True)
    node = postgres.Cluster("aurora", where, ports.free_port(24800, 24900), app="cart")
    node.init_primary()
    try:
        with node.connect() as conn:
            conn.execute("ALTER ROLE cart_owner CREATEROLE CREATEDB")
        password = node.secrets.password(node.owner_user)
        yield AuroraStandIn(node.port, node.owner_user, password, "app-password-1234", node.socket_dir)
    finally:
        node.stop("immediate")
        shutil.rmtree(where, ignore_errors=True)


def provision(
    url: str,
    version_urls: dict[tuple[str, str], str],
    tmp: Path,
    signers: str,
    *,
    separation_of_duties: bool = False,
    database: AuroraStandIn | None = None,
) -> dict[str, Any]:
    """Create the resources of both regions with the names the Terraform stack gives them and return the
    environment file (as a dict) that names them, with aws.roles as terraform/global's pipeline_iam names them.
    Production's services are protected as modules/ecs_service tags them, with the approval policy (who may
    sign: `signers`, an allowed-signers text) in the SecureString parameter terraform/approvals writes in each
    region. Separation of duties is off unless asked for. With `database`, the secrets the aurora_global module
    writes point at it (the checkout's contract must then declare the database: `source_commit`)."""
    regions: dict[str, Any] = {}
    for region in (PRIMARY, SECONDARY):
        short = region.replace("-", "")
        client(url, "ecr", region).create_repository(
            repositoryName=REPO,
            imageTagMutability="IMMUTABLE",
            encryptionConfiguration={"encryptionType": "KMS"},
        )
        client(url, "codecommit", region).create_repository(repositoryName="example-cart")
        bare = tmp / f"codecommit-{region}.git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
        vpc, subnets = _network(url, region)
        services = {}
        policy = {"allowed_signers": signers, "max_age_hours": 24, "separation_of_duties": separation_of_duties}
        client(url, "ssm", region).put_parameter(Name=POLICY_PARAMETER, Type="SecureString", Value=json.dumps(policy))
        for env in ENVS[region]:
            stack = STACKS[env]
            cluster = f"example-{stack}"
            client(url, "ecs", region).create_cluster(clusterName=cluster)
            _capacity(url, region, cluster)
            alb = _alb(url, region, f"example-{stack}-{short}", vpc, subnets)
            tags = (
                [
                    {"key": "gantry:protected", "value": "true"},
                    {"key": "gantry:approval-policy", "value": POLICY_PARAMETER},
                ]
                if env == "production"
                else []
            )
            _service(url, region, cluster, "cart", tags)
            services[env] = {
                "service": "cart",
                "cluster": cluster,
                "task_family": f"example-{stack}-cart",
                "log_group": f"/gantry/example/{stack}/cart",
                "load_balancer": alb["load_balancer"],
                "target_group_arn": alb["target_group_arn"],
                "url": version_urls[(region, env)],
            }
        regions[region] = {
            "cluster": f"example-{STACKS['production']}",
            "source_repository": "example-cart",
            "source_url": str(bare),
            "environments": services,
        }
    client(url, "ecr", PRIMARY).put_replication_configuration(
        replicationConfiguration={"rules": [{"destinations": [{"region": SECONDARY, "registryId": ACCOUNT}]}]}
    )
    topic = client(url, "sns", PRIMARY).create_topic(Name="gantry-example-pipeline")["TopicArn"]
    # The Terraform state lock table (terraform/bootstrap) also holds gantry's deploy leases.
    client(url, "dynamodb", PRIMARY).create_table(
        TableName=LOCK_TABLE,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dr = _failover(url, regions)
    raw = yaml.safe_load((ROOT / "environments/example/aws.yaml").read_text())
    raw["notifications"] = {"file": None, "sns_topic_arn": topic}
    raw["aws"] = {
        "endpoint_url": url,
        "account_id": ACCOUNT,
        "ecr_repository": REPO,
        "roles": least_privilege.stack_roles(),
        "regions": regions,
        "records_kms_key": "alias/aws/ssm",
        "replication_timeout_seconds": 2,
        "deploy_timeout_seconds": 1,
        "poll_seconds": 0.1,
        "max_attempts": 3,
        "lease_table": LOCK_TABLE,
        "dr": dr,
    }
    if database is not None:
        _database_secrets(url, raw["aws"], database)
    return raw


def _database_secrets(url: str, aws: dict[str, Any], database: AuroraStandIn) -> None:
    """Each environment's master and tasks' secrets in each region, named as the aurora_global module names them
    (gantry/<customer>-<stack>/aurora-master, .../aurora-app), all pointing at the one stand-in database."""
    master = {"username": database.master_user, "password": database.master_password, "dbname": "postgres"}
    app = {"username": "cart", "password": database.app_password}
    for region in (PRIMARY, SECONDARY):
        secrets = client(url, "secretsmanager", region)
        for env in ENVS[region]:
            prefix = f"gantry/example-{STACKS[env]}"
            master_arn = secrets.create_secret(Name=f"{prefix}/aurora-master", SecretString=json.dumps(master))["ARN"]
            app_arn = secrets.create_secret(Name=f"{prefix}/aurora-app", SecretString=json.dumps(app))["ARN"]
            aws["regions"][region]["environments"][env].update(
                database_endpoint="127.0.0.1", database_secret_arn=app_arn, owner_secret_arn=master_arn
            )
    aws["database"] = {"port": database.port, "sslmode": "disable"}


def _failover(url: str, regions: dict[str, Any]) -> dict[str, Any]:
    cloudwatch = client(url, "cloudwatch", PRIMARY)
    cloudwatch.put_metric_alarm(
        AlarmName="example-prod-us-east-1-unhealthy",
        Namespace="AWS/ApplicationELB",
        MetricName="HealthyHostCount",
        Statistic="Minimum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="example-prod-us-east-1-unhealthy", StateValue="OK", StateReason="setup")
    route53 = client(url, "route53", PRIMARY)
    zone = route53.create_hosted_zone(Name="example.test", CallerReference="gantry-tests")["HostedZone"]["Id"]
    check = route53.create_health_check(
        CallerReference="gantry-primary",
        HealthCheckConfig={
            "Type": "CLOUDWATCH_METRIC",
            "InsufficientDataHealthStatus": "LastKnownStatus",
            "AlarmIdentifier": {"Region": PRIMARY, "Name": "example-prod-us-east-1-unhealthy"},
        },
    )["HealthCheck"]["Id"]
    changes = []
    for role, region in (("PRIMARY", PRIMARY), ("SECONDARY", SECONDARY)):
        record: dict[str, Any] = {
            "Name": "cart.example.test.",
            "Type": "CNAME",
            "SetIdentifier": region,
            "Failover": role,
            "TTL": 30,
            "ResourceRecords": [{"Value": f"cart-production-{region.replace('-', '')}.elb.example"}],
        }
        if role == "PRIMARY":
            record["HealthCheckId"] = check
        changes.append({"Action": "CREATE", "ResourceRecordSet": record})
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})
    return {
        "environment": "production",
        "hosted_zone_id": zone.rsplit("/", 1)[-1],
        "record_name": "cart.example.test",
        "health_check_id": check,
        "alarm_name": "example-prod-us-east-1-unhealthy",
        "fault": "invert-health-check",
        "resolver": "evaluate",
        "poll_seconds": 0.1,
        "timeout_seconds": 5,
    }


# --- what moto cannot do: registry uploads and replication ------------------------------------------------
def manifest(seed: str) -> str:
    layer = hashlib.sha256(seed.encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(f"config-{seed}".encode()).hexdigest(),
                "size": 100,
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": f"sha256:{layer}", "size": 1000}
            ],
        },
        sort_keys=True,
    )


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class ApiPusher:
    """Stands in for skopeo: stores a manifest with put_image (the digest is the manifest's sha256, as a real
    registry computes it). `report` lets a test make the pusher lie about the digest."""

    def __init__(self, url: str, seed: str = "release-1", report: str | None = None) -> None:
        self.url = url
        self.manifest = manifest(seed)
        self.report = report
        self.pushed: list[str] = []

    def push(self, local_image: str, repository_uri: str, tag: str) -> str:
        region = repository_uri.split(".")[3]
        digest = digest_of(self.manifest)
        client(self.url, "ecr", region).put_image(
            repositoryName=REPO, imageManifest=self.manifest, imageTag=tag, imageDigest=digest
        )
        self.pushed.append(f"{local_image} -> {repository_uri}:{tag}")
        return self.report or digest


def replicate(url: str, tag: str, text: str, delay: float = 0.0) -> threading.Thread:
    """Does what ECR replication would: copy the image to the secondary region, after `delay` seconds."""

    def copy() -> None:
        time.sleep(delay)
        client(url, "ecr", SECONDARY).put_image(
            repositoryName=REPO, imageManifest=text, imageTag=tag, imageDigest=digest_of(text)
        )

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


class AcceptedWaiter:
    """Rollout wait for moto: the service names the new task definition. Real ECS would also need the
    deployment to reach COMPLETED, which moto never reports; `fail_regions` fall back to the real
    PollingWaiter, which therefore times out there (a real failure path, not a faked one)."""

    def __init__(self, fail_regions: set[str] | None = None) -> None:
        from gantry.targets.aws.ecs import PollingWaiter

        self.fail_regions = fail_regions or set()
        self.real = PollingWaiter(poll_seconds=0.1)
        self.calls: list[tuple[str, str]] = []

    def __call__(self, ecs: Any, cluster: str, service: str, task_definition: str, timeout: float) -> None:
        from gantry.targets.aws.ecs import RolloutFailed

        region = ecs.meta.region_name
        self.calls.append((region, task_definition.rsplit("/", 1)[-1]))
        if region in self.fail_regions:
            self.real(ecs, cluster, service, task_definition, timeout)
            return
        found = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
        if found["taskDefinition"] != task_definition:
            raise RolloutFailed("service does not name the new task definition")


# --- stand-ins on 127.0.0.1 --------------------------------------------------------------------------------
class VersionServer:
    """Answers /version like the cart service behind a region's ALB; tests set what it serves."""

    def __init__(self, region: str, env: str) -> None:
        self.body: dict[str, Any] = {"region": region, "environment": env, "digest": "unknown", "sha": "unknown"}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = json.dumps(outer.body if self.path == "/version" else {"status": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port(24500)), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ThrottlingProxy:
    """A real HTTP hop in front of moto that answers the first `throttle` requests with the JSON-protocol
    ThrottlingException (HTTP 400) AWS sends under load, then forwards everything to moto."""

    def __init__(self, upstream: str, throttle: int) -> None:
        self.upstream = upstream
        self.remaining = throttle
        self.seen = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.seen += 1
                    throttled = outer.remaining > 0
                    outer.remaining -= 1
                if throttled:
                    payload = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
                    self.send_response(400)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}}
                request = urllib.request.Request(outer.upstream + self.path, data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, data, kind = response.status, response.read(), response.headers["Content-Type"]
                except urllib.error.HTTPError as exc:
                    status, data, kind = exc.code, exc.read(), exc.headers["Content-Type"]
                self.send_response(status)
                self.send_header("Content-Type", kind or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port(24800)), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
