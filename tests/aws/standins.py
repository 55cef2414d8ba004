"""Real components standing in for the parts of AWS that moto does not run, so the aws target's whole pipeline
can run on this machine. moto (server mode) answers every API call; these make the calls mean something:

- ECR's data plane: moto has no registry (no blob API). Each region gets a real docker-registry on 127.0.0.1;
  its push notifications register every pushed manifest in moto's ECR (put_image with the registry's own
  digest), as a push to ECR does, and a push to the primary is copied to the secondary registry with skopeo
  after a short delay, as ECR replication does (asynchronously). gantry pushes to the stand-in through
  `aws.registry_endpoints`; the engine pulls ECR names from it through registries.conf.
- ECS's scheduler: moto runs no tasks, and a service it was told to update never finishes its deployment.
  A scheduler thread runs each service's current task definition as real containers (the image the pipeline
  built, from the stand-in registry), health-checks them, and puts them behind a real HAProxy at the URL the
  environment file gives the service (its "ALB"). A proxy in front of moto then answers DescribeServices with
  the deployments that scheduler actually achieved (PRIMARY and COMPLETED once the new containers serve).
- One-off tasks (RunTask: the migrations): moto records the task and never runs it. The proxy runs the task
  definition's container for real once (its command, its environment, its secrets resolved from Secrets
  Manager as ECS would), writes its output to the task's awslogs stream in moto's CloudWatch Logs, and answers
  DescribeTasks for it with STOPPED and the container's real exit code.

Everything here listens on 127.0.0.1 only.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import requests

from gantry.contract import HealthContract
from gantry.errors import GantryError
from gantry.host import engine, podman, ports
from gantry.targets.local import oneoff, replicas
from gantry.targets.local.haproxy import Balancer
from gantry.targets.local.health import Check
from gantry.taskdef import ContainerSpec, container_spec

Reply = tuple[int, dict[str, str], bytes]


def moto_client(moto: str, service: str, region: str) -> Any:
    return boto3.client(
        service, region_name=region, endpoint_url=moto, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


class Listener:
    """A tiny HTTP server on 127.0.0.1 running `handle(method, path, headers, body) -> (status, headers, body)`."""

    def __init__(self, handle: Any, port: int) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                status, headers, data = outer.handle(self.command, self.path, dict(self.headers), body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.handle = handle
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- ECR: registries, push notifications, replication ------------------------------------------------------
@dataclass
class EcrDataPlane:
    moto: str
    account: str
    regions: list[str]
    base: Path
    port_range: tuple[int, int]
    replication_delay: float = 0.5
    registries: dict[str, str] = field(default_factory=dict)  # region -> 127.0.0.1:port
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    listener: Listener | None = None
    errors: list[str] = field(default_factory=list)

    def host(self, region: str) -> str:
        return f"{self.account}.dkr.ecr.{region}.amazonaws.com"

    def endpoints(self) -> dict[str, str]:
        """aws.registry_endpoints: each region's ECR host -> its stand-in registry."""
        return {self.host(region): location for region, location in self.registries.items()}

    def start(self) -> None:
        self.listener = Listener(self._notified, ports.free_port(*self.port_range))
        for region in self.regions:
            port = ports.free_port(*self.port_range)
            directory = self.base / f"registry-{region}"
            (directory / "data").mkdir(parents=True)
            config = directory / "config.yml"
            config.write_text(
                json.dumps(
                    {
                        "version": 0.1,
                        "log": {"level": "warn"},
                        "storage": {"filesystem": {"rootdirectory": str(directory / "data")}},
                        "http": {"addr": f"127.0.0.1:{port}"},
                        "notifications": {
                            "endpoints": [
                                {
                                    "name": "ecr-api",
                                    "url": f"{self.listener.url}/{region}",
                                    "timeout": "2s",
                                    "threshold": 3,
                                    "backoff": "1s",
                                }
                            ]
                        },
                    }
                )
            )
            log = (directory / "registry.log").open("wb")
            self.processes.append(
                subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
            )
            self.registries[region] = f"127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.1)

    def _notified(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        region = path.strip("/")
        try:
            for event in json.loads(body or b"{}").get("events", []):
                target = event.get("target", {})
                if event.get("action") == "push" and target.get("mediaType") in MANIFEST_TYPES and target.get("tag"):
                    self._register(region, target["repository"], target["tag"], target["digest"], target["mediaType"])
        except Exception as exc:  # the registry retries; the test reads what went wrong here
            self.errors.append(f"{region}: {type(exc).__name__}: {exc}")
            return 500, {}, b""
        return 200, {}, b"{}"

    def _register(self, region: str, repository: str, tag: str, digest: str, media_type: str) -> None:
        location = self.registries[region]
        manifest = requests.get(
            f"http://{location}/v2/{repository}/manifests/{digest}", headers={"Accept": media_type}, timeout=10
        ).text
        ecr = boto3.client(
            "ecr",
            region_name=region,
            endpoint_url=self.moto,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        try:
            ecr.put_image(
                repositoryName=repository,
                imageManifest=manifest,
                imageManifestMediaType=media_type,
                imageTag=tag,
                imageDigest=digest,
            )
        except ecr.exceptions.ImageAlreadyExistsException:
            return
        if region == self.regions[0]:
            threading.Thread(target=self._replicate, args=(repository, tag, digest), daemon=True).start()

    def _replicate(self, repository: str, tag: str, digest: str) -> None:
        time.sleep(self.replication_delay)
        source = f"docker://{self.registries[self.regions[0]]}/{repository}@{digest}"
        for region in self.regions[1:]:
            result = subprocess.run(
                [
                    "skopeo",
                    "copy",
                    "--quiet",
                    "--preserve-digests",
                    "--src-tls-verify=false",
                    "--dest-tls-verify=false",
                    source,
                    f"docker://{self.registries[region]}/{repository}:{tag}",
                ],
                capture_output=True,
                text=True,
                env=podman.cli_environment(),
                check=False,
            )
            if result.returncode != 0:
                self.errors.append(f"replication to {region}: {result.stderr.strip()[-200:]}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(10)
        if self.listener:
            self.listener.close()


# --- ECS: a scheduler that runs tasks, and the API front that reports it -------------------------------------
@dataclass
class ServiceRun:
    region: str
    cluster: str
    service: str
    balancer: Balancer
    task_definition: str | None = None  # the one whose replicas serve
    containers: list[Any] = field(default_factory=list)


class EcsScheduler:
    """Runs each service's current task definition as real containers behind a real load balancer."""

    def __init__(
        self,
        moto: str,
        services: list[ServiceRun],
        registries: dict[str, str],
        home: Path,
        database_socket: Path | None = None,
    ) -> None:
        self.moto = moto
        self.database_socket = database_socket
        self.services = {(s.region, s.cluster, s.service): s for s in services}
        self.registries = registries
        self.home = home
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def client(self, region: str) -> Any:
        return boto3.client(
            "ecs",
            region_name=region,
            endpoint_url=self.moto,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def start(self) -> None:
        for run in self.services.values():
            run.balancer.start([], "the stand-in ALB")
        self.thread.start()

    def state(self, region: str, cluster: str, service: str) -> ServiceRun | None:
        return self.services.get((region, cluster.rsplit("/", 1)[-1], service.rsplit("/", 1)[-1]))

    def _loop(self) -> None:
        while not self.stopping.wait(0.5):
            for run in self.services.values():
                try:
                    self._schedule(run)
                except Exception as exc:  # reported by the test; the scheduler keeps going
                    self.errors.append(f"{run.region}/{run.service}: {type(exc).__name__}: {exc}")

    def _schedule(self, run: ServiceRun) -> None:
        ecs = self.client(run.region)
        service = ecs.describe_services(cluster=run.cluster, services=[run.service])["services"][0]
        wanted = service["taskDefinition"]
        if wanted == run.task_definition:
            return
        task = ecs.describe_task_definition(taskDefinition=wanted)["taskDefinition"]
        container = task["containerDefinitions"][0]
        env = {e["name"]: e["value"] for e in container.get("environment", [])}
        if "IMAGE_DIGEST" not in env:  # the stack's placeholder: nothing of gantry's to run yet
            run.task_definition = wanted
            return
        spec, mounts = self._as_ecs_runs(container_spec(task), run)
        docker = engine.connect(self.registries)
        labels = replicas.labels_for(str(self.home), "ecs", run.region, run.service)
        started = replicas.start(
            docker, spec, labels, _Release(env["GIT_SHA"], env["IMAGE_DIGEST"]), int(service["desiredCount"]), mounts
        )
        # The cart's contract keeps the default probe paths, as the ALB's target group in front of it does.
        version_path = HealthContract().version
        replicas.wait_healthy(started, spec, _Release(env["GIT_SHA"], env["IMAGE_DIGEST"]), version_path, 60)
        names = []
        for item in started:
            run.balancer.add(item.name, replicas.host_port(item, spec.container_port))
            names.append(item.name)
        run.balancer.wait_up(names, 30)
        old = [s.name for s in run.balancer.servers() if s.name not in names]
        run.balancer.drain(old)
        for name in old:
            run.balancer.remove(name)
        replicas.stop_gracefully(run.containers)
        run.containers, run.task_definition = started, wanted

    def _as_ecs_runs(self, spec: ContainerSpec, run: ServiceRun) -> tuple[ContainerSpec, dict[str, str]]:
        """What ECS does before a task starts: each `secrets` entry resolved from Secrets Manager (here moto;
        `arn:key::` picks a JSON key), given to the container (here as a read-only file, the way the replicas
        runner mounts secrets). The database on 127.0.0.1 stands in for Aurora; a container's 127.0.0.1 is its
        own, so it reaches the database through its socket directory instead."""
        secrets = {}
        for name, value_from in spec.secrets.items():
            parts = value_from.split(":")  # arn:aws:secretsmanager:region:account:secret:name[:json-key:stage:id]
            arn, json_key = ":".join(parts[:7]), (parts[7] if len(parts) > 7 else "")
            client = moto_client(self.moto, "secretsmanager", run.region)
            value = client.get_secret_value(SecretId=arn)["SecretString"]
            path = self.home / "secrets" / f"{run.region}-{run.service}-{name.lower()}"
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.write_text(json.loads(value)[json_key] if json_key else value)
            path.chmod(0o444)
            secrets[name] = str(path)
        environment = dict(spec.environment)
        mounts: dict[str, str] = {}
        if self.database_socket is not None and "host=127.0.0.1" in environment.get("DATABASE_URL", ""):
            environment["DATABASE_URL"] = environment["DATABASE_URL"].replace("host=127.0.0.1", "host=/run/postgresql")
            mounts[str(self.database_socket)] = "/run/postgresql"
        return dataclasses.replace(spec, secrets=secrets, environment=environment), mounts

    def run_once(self, region: str, task_arn: str, definition_arn: str) -> dict[str, Any]:
        """Run a one-off task's container to completion, as the ECS agent would; its exit code and output go to
        what DescribeTasks and the task's log stream report."""
        ecs = self.client(region)
        task = ecs.describe_task_definition(taskDefinition=definition_arn)["taskDefinition"]
        container = task["containerDefinitions"][0]
        run = ServiceRun(region, "one-off", container["name"], None)  # type: ignore[arg-type]
        spec, mounts = self._as_ecs_runs(container_spec({**task, "containerDefinitions": [
            {**container, "portMappings": [{"containerPort": 80}]}
        ]}), run)  # fmt: skip
        docker = engine.connect(self.registries)
        labels = replicas.labels_for(str(self.home), "ecs", region, "one-off")
        try:
            lines = oneoff.run(
                docker, spec.image, list(container.get("command", [])), labels=labels,
                environment=spec.environment, secrets=spec.secrets, mounts=mounts, timeout=300,
            )  # fmt: skip
            code = 0
        except GantryError as exc:
            lines, code = [str(exc)], 1
        options = container.get("logConfiguration", {}).get("options", {})
        logs = moto_client(self.moto, "logs", region)
        group = options["awslogs-group"]
        stream = f"{options['awslogs-stream-prefix']}/{container['name']}/{task_arn.rsplit('/', 1)[-1]}"
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now = int(time.time() * 1000)
        if lines:
            events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        return {"lastStatus": "STOPPED", "exitCode": code}

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        for run in self.services.values():
            replicas.remove(run.containers)
            run.balancer.stop()


@dataclass(frozen=True)
class _Release:
    sha: str
    digest: str


class MotoFront:
    """A real HTTP hop in front of moto: everything is forwarded; DescribeServices answers are corrected to
    show the deployments the scheduler achieved (moto's own never change after create_service)."""

    def __init__(self, moto: str, scheduler: EcsScheduler, port: int) -> None:
        self.moto = moto
        self.scheduler = scheduler
        self.listener = Listener(self._forward, port)
        self.url = self.listener.url
        self.tasks: dict[str, dict[str, Any]] = {}  # task ARN -> what the one-off run reported (None: running)
        self.lock = threading.Lock()

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        forward = {k: v for k, v in headers.items() if k.lower() not in {"host", "content-length"}}
        request = urllib.request.Request(
            self.moto + path, data=body if method != "GET" else None, headers=forward, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, data, kind = response.status, response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            status, data, kind = exc.code, exc.read(), exc.headers.get("Content-Type", "")
        target = headers.get("X-Amz-Target") or headers.get("x-amz-target") or ""
        if status == 200 and target.endswith("ContainerServiceV20141113.DescribeServices"):
            region = _region_of(headers)
            reply = json.loads(data)
            for service in reply.get("services", []):
                self._correct(region, service)
            data = json.dumps(reply).encode()
        elif status == 200 and target.endswith("ContainerServiceV20141113.RunTask"):
            region = _region_of(headers)
            for task in json.loads(data).get("tasks", []):
                self._start(region, task["taskArn"], task["taskDefinitionArn"])
        elif status == 200 and target.endswith("ContainerServiceV20141113.DescribeTasks"):
            reply = json.loads(data)
            for task in reply.get("tasks", []):
                self._report(task)
            data = json.dumps(reply).encode()
        return status, {"Content-Type": kind or "application/json"}, data

    def _start(self, region: str, task_arn: str, definition_arn: str) -> None:
        def run() -> None:
            try:
                result = self.scheduler.run_once(region, task_arn, definition_arn)
            except Exception as exc:  # reported by the test, and as the task's failure
                self.scheduler.errors.append(f"one-off {task_arn}: {type(exc).__name__}: {exc}")
                result = {"lastStatus": "STOPPED", "exitCode": 1}
            with self.lock:
                self.tasks[task_arn] = result

        with self.lock:
            self.tasks[task_arn] = {"lastStatus": "RUNNING", "exitCode": None}
        threading.Thread(target=run, daemon=True).start()

    def _report(self, task: dict[str, Any]) -> None:
        with self.lock:
            result = self.tasks.get(task["taskArn"])
        if result is None:
            return
        task["lastStatus"] = result["lastStatus"]
        for container in task.get("containers", []):
            container["lastStatus"], container["exitCode"] = result["lastStatus"], result["exitCode"]

    def _correct(self, region: str, service: dict[str, Any]) -> None:
        run = self.scheduler.state(region, service["clusterArn"], service["serviceName"])
        if run is None:
            return
        wanted, desired = service["taskDefinition"], service.get("desiredCount", 0)
        done = run.task_definition == wanted
        service["deployments"] = [
            {
                "id": f"ecs-svc/{abs(hash(wanted)) % 10**12}",
                "status": "PRIMARY",
                "taskDefinition": wanted,
                "desiredCount": desired,
                "runningCount": desired if done else 0,
                "pendingCount": 0 if done else desired,
                "rolloutState": "COMPLETED" if done else "IN_PROGRESS",
                "rolloutStateReason": "scheduler stand-in",
            }
        ]
        if not done and run.task_definition:
            service["deployments"].append(
                {
                    "id": "ecs-svc/previous",
                    "status": "ACTIVE",
                    "taskDefinition": run.task_definition,
                    "desiredCount": desired,
                    "runningCount": desired,
                    "rolloutState": "COMPLETED",
                }
            )
        service["runningCount"] = desired

    def close(self) -> None:
        self.listener.close()


def _region_of(headers: dict[str, str]) -> str:
    """The region a SigV4-signed request is for (Authorization: ... Credential=KEY/DATE/REGION/SERVICE/...)."""
    authorization = headers.get("Authorization") or headers.get("authorization") or ""
    try:
        return authorization.split("Credential=", 1)[1].split("/")[2]
    except IndexError:
        return "us-east-1"


def stand_in_alb(name: str, directory: Path, sockets: Path, port: int) -> Balancer:
    """The HAProxy that fronts a service's replicas, with the target group's checks at a fast local pace."""
    return Balancer(
        name, directory, port, Check(HealthContract().path, 0.5, 0.4, 2, 2), sockets=sockets, deregistration_delay=1
    )
