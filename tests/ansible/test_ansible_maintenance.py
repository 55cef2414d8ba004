"""playbooks/maintenance/*.yml run for real against two ECS hosts, each first with --check --diff.

Hosts: molecule scenario `maintenance` (ansible/molecule/maintenance): two systemd Debian 12 podman containers,
privileged with their own dockerd, sharing this machine's network, converged with the docker, ecs_agent, logrotate
and node_exporter roles (inventory: ansible/molecule/maintenance/inventory/hosts.yml). Every check-mode run must
succeed and leave the hosts as they were; the real run must then have its effect.

What is a stand-in, and why:
- ECS API: a moto server on 127.0.0.1 (port from patch_ecs_endpoint_url in its inventory). It is a real HTTP ECS
  API: the hosts call it with Debian's aws CLI (dummy credentials written by prepare.yml). This test registers the
  cluster and one container instance per host there. moto runs no containers: a task placed with start_task only
  counts in runningTasksCount until the test stops it, which plays "ECS moved the task away" (or not, for the
  drain that never completes).
- ECS agent introspection (GET /v1/metadata): ecs-agent-standin.py on each host, answering with the cluster from
  /etc/ecs/ecs.config and the ARN this test registered. The real agent is not packaged for Debian and registers
  through ECS's ACS websocket, which moto does not implement. "The agent reconnected" therefore means: the
  stand-in answers and moto reports agentConnected (always true in moto).
- Package upgrade: gantry-canary 1.0 is installed and 1.1 offered by a local apt repository (prepare.yml), so an
  upgrade is always pending; the rest of the upgrade comes from Debian's archive as on a real host.
Not exercised: the reboot itself. ansible.builtin.reboot waits for a new boot_id, and a container shares the
kernel (and boot_id) of this machine, so it never sees one. The check-mode run proves the condition instead: with
/run/reboot-required planted on one host, only that host reports the reboot; the real run skips it on both.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import yaml
from motoserver import moto_server

from gantry.host import podman

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = ROOT / "ansible"
SCENARIO = "maintenance"
INVENTORY = ANSIBLE_DIR / "molecule" / SCENARIO / "inventory" / "hosts.yml"
PLAYBOOKS = ANSIBLE_DIR / "playbooks" / "maintenance"
ARN_FILE = PurePosixPath("/var/lib/ecs/standin-container-instance-arn")
INVENTORY_VARS: dict[str, Any] = yaml.safe_load(INVENTORY.read_text())["all"]
HOST_VARS: dict[str, dict[str, Any]] = INVENTORY_VARS["children"]["ecs_hosts"]["hosts"]
HOSTS = list(HOST_VARS)
REGION: str = INVENTORY_VARS["vars"]["gantry_region"]
CLUSTER: str = INVENTORY_VARS["vars"]["ecs_agent_cluster"]
ECS_URL: str = INVENTORY_VARS["vars"]["patch_ecs_endpoint_url"]


MoleculeRunner = Callable[..., str]


def podman_env() -> dict[str, str]:
    """The environment of conftest.podman_env (conftest is not importable under --import-mode=importlib)."""
    return {
        **podman.cli_environment(),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
    }


def port_of(url: str) -> int:
    port = urlsplit(url if "://" in url else f"http://{url}").port
    assert port is not None, url
    return port


PORTS = [port_of(ECS_URL)] + [
    port_of(v[key]) for v in HOST_VARS.values() for key in ("patch_agent_introspection", "node_exporter_listen_address")
]


# --- hosts and playbook runs ---------------------------------------------------------------------------------
def sh(host: str, script: str, stdin: str | None = None) -> str:
    """Run a bash script on a host (podman exec), returning stdout; fail the test with stderr when it fails."""
    result = subprocess.run(
        ["podman", "exec", "-i", host, "bash", "-euo", "pipefail", "-c", script],
        input=stdin,
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"on {host}: {script!r} failed (rc {result.returncode}): {result.stderr[-2000:]}")
    return result.stdout.strip()


@dataclass
class Run:
    """One ansible-playbook run, read from the json stdout callback."""

    rc: int
    plays: list[dict[str, Any]]
    stderr: str

    def batches(self) -> list[list[str]]:
        """Hosts of each play run, in order: with serial, one entry per batch."""
        return [sorted({h for task in play["tasks"] for h in task["hosts"]}) for play in self.plays]

    def results(self, task: str) -> dict[str, dict[str, Any]]:
        """Result per host of the task with this name, across all batches."""
        found: dict[str, dict[str, Any]] = {}
        for play in self.plays:
            for entry in play["tasks"]:
                if entry["task"]["name"] == task:
                    found.update(entry["hosts"])
        assert found, f"task {task!r} did not run:\n{self}"
        return found

    def __str__(self) -> str:
        lines = []
        for play in self.plays:
            for entry in play["tasks"]:
                for host, res in entry["hosts"].items():
                    state = "failed" if res.get("failed") else "skipped" if res.get("skipped") else "ok"
                    state += " changed" if res.get("changed") else ""
                    msg = f" msg={res['msg']!r}" if res.get("failed") and "msg" in res else ""
                    lines.append(f"{host} | {entry['task']['name']} | {state}{msg}")
        return "\n".join(lines) + f"\nstderr: {self.stderr[-3000:]}"


def playbook(name: str, *extra_vars: str, check: bool = False) -> Run:
    args = ["ansible-playbook", "-i", str(INVENTORY), str(PLAYBOOKS / name)]
    args += ["--check", "--diff"] if check else ["--diff"]
    for value in extra_vars:
        args += ["-e", value]
    env = {**podman_env(), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}
    started = time.monotonic()
    result = subprocess.run(args, cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True, timeout=900, check=False)
    print(f"{name} {' '.join(args[4:])}: rc {result.returncode} in {time.monotonic() - started:.0f} s")  # -rP shows it
    try:
        plays = json.loads(result.stdout)["plays"]
    except (json.JSONDecodeError, KeyError):
        pytest.fail(f"{' '.join(args)} gave no json result (rc {result.returncode}):\n{result.stderr[-4000:]}")
    return Run(result.returncode, plays, result.stderr)


def ok(run: Run) -> Run:
    assert run.rc == 0, f"playbook failed (rc {run.rc}):\n{run}"
    return run


def changed_hosts(run: Run, task: str) -> list[str]:
    return sorted(h for h, r in run.results(task).items() if r.get("changed"))


def skipped_hosts(run: Run, task: str) -> list[str]:
    return sorted(h for h, r in run.results(task).items() if r.get("skipped"))


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# --- ECS (moto server) ---------------------------------------------------------------------------------------
@dataclass
class Ecs:
    client: Any
    arns: dict[str, str]  # host -> container instance ARN
    task_definition: str

    def status(self) -> dict[str, dict[str, Any]]:
        found = self.client.describe_container_instances(cluster=CLUSTER, containerInstances=list(self.arns.values()))
        by_arn = {ci["containerInstanceArn"]: ci for ci in found["containerInstances"]}
        return {host: by_arn[arn] for host, arn in self.arns.items()}

    def set_status(self, host: str, status: str) -> None:
        self.client.update_container_instances_state(
            cluster=CLUSTER, containerInstances=[self.arns[host]], status=status
        )

    def start_task(self, host: str) -> str:
        tasks = self.client.start_task(
            cluster=CLUSTER, taskDefinition=self.task_definition, containerInstances=[self.arns[host]]
        )["tasks"]
        return str(tasks[0]["taskArn"])

    def stop_task(self, task_arn: str) -> None:
        self.client.stop_task(cluster=CLUSTER, task=task_arn, reason="moved away (test)")


@dataclass
class StatusRecorder:
    """Polls moto every 0.2 s and keeps each container instance's status changes with their times."""

    ecs: Ecs
    changes: list[tuple[float, str, str]] = field(default_factory=list)  # (epoch, host, status)
    _stop: threading.Event = field(default_factory=threading.Event)
    _error: Exception | None = None

    def __enter__(self) -> StatusRecorder:
        self._poll()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self._error is not None:
            raise RuntimeError("polling moto failed: the recorded status changes are incomplete") from self._error
        self._poll()

    def _poll(self) -> None:
        now = time.time()
        for host, instance in self.ecs.status().items():
            if self.sequence(host)[-1:] != [instance["status"]]:
                self.changes.append((now, host, instance["status"]))

    def _loop(self) -> None:
        try:
            while not self._stop.wait(0.2):
                self._poll()
        except Exception as exc:  # re-raised by __exit__, in the test's thread
            self._error = exc

    def sequence(self, host: str) -> list[str]:
        return [status for _, h, status in self.changes if h == host]

    def first(self, host: str, status: str, after: float = 0.0) -> float:
        return next(t for t, h, s in self.changes if h == host and s == status and t > after)

    def wait_for(self, host: str, status: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if status in self.sequence(host):
                return self.first(host, status)
            time.sleep(0.1)
        raise TimeoutError(f"{host} never became {status}")


# --- fixtures ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hosts(run_molecule: MoleculeRunner) -> Iterator[list[str]]:
    """Both hosts, created, prepared and converged once for the module; destroyed at the end."""
    run_molecule(SCENARIO, "destroy", 300)  # leftovers of an interrupted run would hold the ports
    for port in PORTS:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                pytest.skip(f"127.0.0.1:{port} (see {INVENTORY.relative_to(ROOT)}) is in use by another process")
    try:
        run_molecule(SCENARIO, "converge", 1200)
        yield HOSTS
    finally:
        run_molecule(SCENARIO, "destroy", 300)


@pytest.fixture(scope="module")
def ecs(hosts: list[str]) -> Iterator[Ecs]:
    """The cluster with one container instance per host in moto; each host's stand-in agent reports its ARN."""
    with moto_server(port_of(ECS_URL)) as url:
        # Dummy credentials: moto accepts any.
        client = boto3.client(
            "ecs", region_name=REGION, endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        ec2 = boto3.client(
            "ec2", region_name=REGION, endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        client.create_cluster(clusterName=CLUSTER)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        instances = ec2.run_instances(ImageId=image, MinCount=len(hosts), MaxCount=len(hosts))["Instances"]
        arns = {}
        for host, instance in zip(hosts, instances, strict=True):
            document = json.dumps({"instanceId": instance["InstanceId"], "region": REGION})
            registered = client.register_container_instance(cluster=CLUSTER, instanceIdentityDocument=document)
            arns[host] = registered["containerInstance"]["containerInstanceArn"]
            sh(host, f"mkdir -p {ARN_FILE.parent} && cat > {ARN_FILE}", stdin=arns[host])
        # moto's start_task needs container-level cpu and memory.
        family = client.register_task_definition(
            family="gantry-maintenance-app",
            containerDefinitions=[{"name": "app", "image": "app:1", "cpu": 128, "memory": 128}],
        )["taskDefinition"]["taskDefinitionArn"]
        yield Ecs(client, arns, family)


# --- patch.yml -----------------------------------------------------------------------------------------------
@dataclass
class PlacedTask:
    ecs: Ecs
    arn: str
    stopped_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stop(self) -> None:
        """Stop it once: moto would count a second stop of the same task again."""
        with self._lock:
            if self.stopped_at is None:
                self.ecs.stop_task(self.arn)
                self.stopped_at = time.time()


@pytest.fixture
def task_on_first_host(hosts: list[str], ecs: Ecs) -> Iterator[PlacedTask]:
    """A task placed on the first host's container instance, stopped at teardown unless the test stopped it."""
    placed = PlacedTask(ecs, ecs.start_task(hosts[0]))
    yield placed
    placed.stop()


def canary_versions(hosts: list[str]) -> dict[str, str]:
    return {h: sh(h, "dpkg-query -W -f='${Version}' gantry-canary") for h in hosts}


def stop_task_once_draining(recorder: StatusRecorder, host: str, task: PlacedTask) -> None:
    """Play ECS moving a task away: stop it 8 s after its instance shows DRAINING (so the first polls see it)."""

    def act() -> None:
        recorder.wait_for(host, "DRAINING", timeout=600)
        time.sleep(8)
        task.stop()

    threading.Thread(target=act, daemon=True).start()


def test_patch(hosts: list[str], ecs: Ecs, task_on_first_host: PlacedTask) -> None:
    first, second = hosts
    sh(second, "touch /run/reboot-required")
    try:
        with StatusRecorder(ecs) as recorder:
            check = ok(playbook("patch.yml", check=True))
    finally:
        sh(second, "rm -f /run/reboot-required")
    assert all(recorder.sequence(h) == ["ACTIVE"] for h in hosts), f"check mode changed ECS: {recorder.changes}"
    assert canary_versions(hosts) == {h: "1.0" for h in hosts}, "check mode upgraded a package"
    assert skipped_hosts(check, "Set the container instance to DRAINING") == hosts
    upgrade = check.results("Upgrade packages (Debian)")
    assert all("gantry-canary" in r.get("diff", {}).get("prepared", "") for r in upgrade.values()), upgrade
    # The reboot branch: would run where /run/reboot-required exists, and only there (check mode reboots nothing).
    assert changed_hosts(check, "Reboot") == [second] and skipped_hosts(check, "Reboot") == [first]

    with StatusRecorder(ecs) as recorder:
        stop_task_once_draining(recorder, first, task_on_first_host)
        run = ok(playbook("patch.yml", "patch_drain_poll_seconds=1"))
    assert run.batches() == [[first], [second]], f"not one host per batch: {run.batches()}"
    for host in hosts:
        assert recorder.sequence(host) == ["ACTIVE", "DRAINING", "ACTIVE"], recorder.changes
    # One host at a time: the second is drained only after the first is back in service.
    assert recorder.first(first, "ACTIVE", after=recorder.first(first, "DRAINING")) < recorder.first(
        second, "DRAINING"
    ), recorder.changes
    # The drain waited for the running task to leave before patching.
    stopped_at = task_on_first_host.stopped_at
    assert stopped_at is not None, "the task on the first host was never stopped"
    waited = run.results("Wait until its tasks have moved away")[first]
    assert waited.get("attempts", 1) > 1, f"the drain did not wait for the running task: {waited}"
    upgrade_started = next(
        epoch(e["task"]["duration"]["start"])
        for e in run.plays[0]["tasks"]
        if e["task"]["name"] == "Upgrade packages (Debian)"
    )
    assert upgrade_started > stopped_at, "packages were upgraded before the drain finished"
    assert canary_versions(hosts) == {h: "1.1" for h in hosts}
    assert changed_hosts(run, "Upgrade packages (Debian)") == hosts
    assert skipped_hosts(run, "Reboot") == hosts
    assert all(ci["status"] == "ACTIVE" for ci in ecs.status().values())

    # Second run, both hosts in one batch: nothing left to upgrade; an instance an operator drained stays DRAINING.
    ecs.set_status(second, "DRAINING")
    try:
        with StatusRecorder(ecs) as recorder:
            again = ok(playbook("patch.yml", "patch_drain_poll_seconds=1", "patch_serial=2"))
        assert again.batches() == [hosts]
        assert changed_hosts(again, "Upgrade packages (Debian)") == [], "second run changed packages"
        assert recorder.sequence(first) == ["ACTIVE", "DRAINING", "ACTIVE"], recorder.changes
        assert recorder.sequence(second) == ["DRAINING"], recorder.changes
        assert skipped_hosts(again, "Set the container instance to ACTIVE") == [second]
    finally:
        ecs.set_status(second, "ACTIVE")


def test_patch_stops_when_a_drain_never_completes(hosts: list[str], ecs: Ecs, task_on_first_host: PlacedTask) -> None:
    first, second = hosts
    with StatusRecorder(ecs) as recorder:
        run = playbook("patch.yml", "patch_drain_timeout_seconds=3", "patch_drain_poll_seconds=1")
    assert run.rc != 0, f"a drain that never completed did not fail the run:\n{run}"
    assert run.batches() == [[first]], f"the run went on after the failed host: {run.batches()}"
    message = run.results("Stop the run")[first]["msg"]
    assert "still runs 1 task(s)" in message and "patch_drain_timeout_seconds" in message, message
    assert "Upgrade packages (Debian)" not in {e["task"]["name"] for p in run.plays for e in p["tasks"]}
    # Nothing was patched there, so it went back into service; the second host was never touched.
    assert recorder.sequence(first) == ["ACTIVE", "DRAINING", "ACTIVE"], recorder.changes
    assert recorder.sequence(second) == ["ACTIVE"], recorder.changes


# --- docker-prune.yml ----------------------------------------------------------------------------------------
# Three tiny images from the hosts' static busybox (no registry is reachable): one for a running container, one
# for a stopped container, one unused. Containers get no network: dockerd has no bridge here (see the inventory).
PLANT_DOCKER = """
plant=$(mktemp -d)
mkdir "$plant/rootfs" && cp /bin/busybox "$plant/rootfs/busybox"
for tag in running stopped unused; do
  echo "$tag" > "$plant/rootfs/tag"
  tar -C "$plant/rootfs" -c . | docker import --change 'CMD ["/busybox", "sleep", "3600"]' - gantry-test/app:$tag
done
rm -rf "$plant"
docker run -d --name gantry-running --network none gantry-test/app:running
docker run --name gantry-stopped --network none gantry-test/app:stopped /busybox true
"""
DOCKER_STATE = (
    "docker ps -a --format '{{.Names}} {{.State}}' | sort; docker images --format '{{.Repository}}:{{.Tag}}' | sort"
)


def test_docker_prune(hosts: list[str]) -> None:
    for host in hosts:
        sh(host, PLANT_DOCKER)
    planted = {h: sh(h, DOCKER_STATE).splitlines() for h in hosts}
    expected_plant = [
        "gantry-running running",
        "gantry-stopped exited",
        "gantry-test/app:running",
        "gantry-test/app:stopped",
        "gantry-test/app:unused",
    ]
    assert all(sorted(state) == expected_plant for state in planted.values()), planted

    check = ok(playbook("docker-prune.yml", "prune_until=0s", check=True))
    assert {h: sh(h, DOCKER_STATE).splitlines() for h in hosts} == planted, "check mode removed something"
    assert skipped_hosts(check, "Prune") == hosts
    assert all(r["stdout_lines"] for r in check.results("Report reclaimable space").values())

    run = ok(playbook("docker-prune.yml", "prune_until=0s"))
    assert changed_hosts(run, "Prune") == hosts
    for host in hosts:
        assert sorted(sh(host, DOCKER_STATE).splitlines()) == ["gantry-running running", "gantry-test/app:running"]


# --- logrotate.yml -------------------------------------------------------------------------------------------
LOG = "/var/log/gantry/maintenance-test.log"


def test_logrotate(hosts: list[str]) -> None:
    for host in hosts:
        sh(host, f"mkdir -p /var/log/gantry && echo planted-on-{host} > {LOG}")
    listing = f"ls /var/log/gantry | sort; cat {LOG}"
    before = {h: sh(h, listing) for h in hosts}

    check = ok(playbook("logrotate.yml", "logrotate_force=true", check=True))
    assert {h: sh(h, listing) for h in hosts} == before, "check mode rotated the log"
    assert skipped_hosts(check, "Rotate") == hosts
    would_rotate = check.results("Show the logs that were rotated (check mode - would be rotated)")
    assert all(LOG in r["msg"] for r in would_rotate.values()), would_rotate

    run = ok(playbook("logrotate.yml", "logrotate_force=true"))
    assert changed_hosts(run, "Rotate") == hosts
    for host in hosts:
        # copytruncate: the live file stays (empty), its content moved to a dated copy.
        assert sh(host, f"cat {LOG}") == ""
        assert sh(host, f"cat {LOG}-*") == f"planted-on-{host}"
        assert LOG in run.results("Show the logs that were rotated (check mode - would be rotated)")[host]["msg"]


def test_logrotate_forced_again_on_the_same_day(hosts: list[str]) -> None:
    host = hosts[0]
    sh(host, f"echo more >> {LOG}")
    # The command logrotate.yml runs, on a host whose log test_logrotate rotated today already.
    again = subprocess.run(
        ["podman", "exec", host, "logrotate", "--force", "/etc/logrotate.conf"],
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert sh(host, f"cat {LOG}") == ""


# --- restart-service.yml -------------------------------------------------------------------------------------
SERVICE = "prometheus-node-exporter"


def unit_times(hosts: list[str]) -> dict[str, dict[str, int]]:
    """Monotonic enter/exit times of the unit's active state: containers share this kernel's clock."""
    times = {}
    for host in hosts:
        shown = sh(
            host,
            f"systemctl show -p ActiveState -p ActiveEnterTimestampMonotonic -p ActiveExitTimestampMonotonic {SERVICE}",
        )
        values = dict(line.split("=", 1) for line in shown.splitlines())
        assert values.pop("ActiveState") == "active", f"{SERVICE} is not active on {host}"
        times[host] = {k: int(v) for k, v in values.items()}
    return times


def test_restart_service(hosts: list[str]) -> None:
    first, second = hosts
    before = unit_times(hosts)
    ok(playbook("restart-service.yml", f"service={SERVICE}", check=True))
    assert unit_times(hosts) == before, "check mode restarted the service"

    run = ok(playbook("restart-service.yml", f"service={SERVICE}"))
    after = unit_times(hosts)
    assert run.batches() == [[first], [second]]
    assert all(after[h]["ActiveEnterTimestampMonotonic"] > before[h]["ActiveEnterTimestampMonotonic"] for h in hosts)
    # One host at a time: the second was stopped only once the first was active again.
    assert after[first]["ActiveEnterTimestampMonotonic"] < after[second]["ActiveExitTimestampMonotonic"], after
    for host in hosts:
        address = HOST_VARS[host]["node_exporter_listen_address"]
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
            assert b"node_uname_info" in response.read()


def test_restart_service_refuses_unlisted_service(hosts: list[str]) -> None:
    before = unit_times(hosts)
    run = playbook("restart-service.yml", "service=sshd-not-allowed")
    assert run.rc != 0
    message = run.results("Check the requested service")[hosts[0]]["msg"]
    assert "\n" not in message and "sshd-not-allowed" in message and "-e service=" in message, message
    assert SERVICE in message, "the message does not list the allowed services"
    assert run.batches() == [[hosts[0]]], "the run went on after the refusal"
    assert unit_times(hosts) == before
