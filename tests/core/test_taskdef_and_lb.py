"""The task definition template renders for the local target, and generated load balancer configs pass the
real `haproxy -c` (regional, with and without replicas, and the global entry), with the shared health numbers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gantry.errors import GantryError
from gantry.targets.local import balancers, haproxy
from gantry.targets.local.layout import Layout
from gantry.taskdef import check_policy, container_spec, render

DIGEST = "sha256:" + "d" * 64
ROOT = Path(__file__).resolve().parents[2]


def committed(path: str) -> str:
    """The template as the release's commit holds it (here: this checkout's)."""
    return (ROOT / path).read_text()


def _rendered(cfg, region: str = "us-east-1") -> dict:  # type: ignore[no-untyped-def,type-arg]
    return render(
        cfg,
        committed,
        image=f"reg/example/cart@{DIGEST}",
        sha="f" * 40,
        digest=DIGEST,
        env="production",
        region=region,
        database_url="host=/run/postgresql dbname=cart_production user=cart",
        database_secret="/run/gantry/secrets/cart.password",
    )


def test_task_definition_renders_to_the_container_the_local_target_runs(cfg) -> None:  # type: ignore[no-untyped-def]
    rendered = _rendered(cfg, "us-west-2")
    assert rendered["family"] == "example-cart-production"
    spec = container_spec(rendered)
    assert spec.image.endswith(DIGEST) and spec.container_port == 80 and spec.read_only
    assert spec.environment == {
        "GIT_SHA": "f" * 40,
        "IMAGE_DIGEST": DIGEST,
        "DEPLOY_ENV": "production",
        "REGION": "us-west-2",
        "DATABASE_URL": "host=/run/postgresql dbname=cart_production user=cart",
    }
    assert spec.secrets == {"DATABASE_PASSWORD": "/run/gantry/secrets/cart.password"}
    assert spec.health is not None and spec.health.shell_command() == ["/bin/sh", "-c", "python3 /app/healthcheck.py"]
    assert (spec.cpu, spec.memory) == (cfg.service.cpu, cfg.service.memory)


def test_a_service_without_a_database_gets_no_empty_database_settings(cfg) -> None:  # type: ignore[no-untyped-def]
    rendered = render(
        cfg,
        committed,
        image=f"reg/example/cart@{DIGEST}",
        sha="f" * 40,
        digest=DIGEST,
        env="staging",
        region="us-east-1",
    )
    spec = container_spec(rendered)
    assert "DATABASE_URL" not in spec.environment and spec.secrets == {}
    assert rendered["containerDefinitions"][0]["secrets"] == []


HAPROXY = pytest.mark.skipif(
    shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
    reason="haproxy is not installed: run `make bootstrap`",
)


@HAPROXY
def test_the_committed_template_passes_the_task_definition_policy(cfg) -> None:  # type: ignore[no-untyped-def]
    assert check_policy(_rendered(cfg), DIGEST) == []


@pytest.mark.parametrize(
    ("change", "exception"),
    [
        (lambda td: td["containerDefinitions"][0].update(privileged=True), "privileged"),
        (lambda td: td.update(volumes=[{"name": "root", "host": {"sourcePath": "/"}}]), "host-volumes"),
        # The local volume driver binds any host path through its options, with no `host` key in sight.
        (
            lambda td: td.update(
                volumes=[
                    {
                        "name": "root",
                        "dockerVolumeConfiguration": {
                            "driver": "local",
                            "driverOpts": {"type": "none", "o": "bind", "device": "/"},
                        },
                    }
                ]
            ),
            "host-volumes",
        ),
        (
            lambda td: td.update(volumes=[{"name": "x", "dockerVolumeConfiguration": {"driver": "rexray/ebs"}}]),
            "host-volumes",
        ),
        (lambda td: td.update(volumes=[{"name": "x", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]), "unknown"),
        # A second container of any other image (a tag is not bytes): the approval binds the release's digest only.
        (
            lambda td: td["containerDefinitions"].append({"name": "sidecar", "image": "docker.io/evil/x:latest"}),
            "other-images",
        ),
        (lambda td: td["containerDefinitions"][0].update(image="reg/example/cart:latest"), "other-images"),
        (lambda td: td.update(pidMode="host"), "host-pid"),
        (lambda td: td["containerDefinitions"][0].update(entryPoint=["/bin/sh"]), "command"),
        (
            lambda td: td["containerDefinitions"][0].update(linuxParameters={"capabilities": {"add": ["SYS_ADMIN"]}}),
            "capabilities",
        ),
        (lambda td: td["containerDefinitions"][0].update(dockerSecurityOptions=["seccomp=unconfined"]), "unknown"),
    ],
)
def test_the_task_definition_policy_refuses_what_gives_a_container_the_host(cfg, change, exception) -> None:  # type: ignore[no-untyped-def]
    rendered = _rendered(cfg)
    change(rendered)
    found = check_policy(rendered, DIGEST)
    assert found and all(line.startswith(f"{exception}: ") for line in found), found
    if exception != "unknown":
        assert check_policy(rendered, DIGEST, allowed=[exception]) == []  # the environment's named exception


@pytest.mark.parametrize("servers", [[], [("r-a-0", 41001), ("r-a-1", 41002)]])
def test_regional_load_balancer_config_passes_haproxy_check(cfg, tmp_path: Path, servers) -> None:  # type: ignore[no-untyped-def]
    layout = Layout(cfg, root=tmp_path)
    balancer = balancers.regional(layout, "us-east-1", "production")
    balancer._write(servers, metrics_port=41999)
    text = balancer.config.read_text()
    assert "bind 127.0.0.1:18080" in text and "option httpchk GET /healthz" in text
    # The target group's numbers (config/health-checks.yaml) on the local clock: 5 s * 0.2, thresholds as is.
    assert balancer.server_options().startswith("check inter 1000ms rise 2 fall 2")
    assert all(f"server {name} 127.0.0.1:{port} {balancer.server_options()}" in text for name, port in servers)
    assert "close-spread-time" in text and "http-server-close" in text


@HAPROXY
def test_global_entry_puts_the_secondary_region_behind_the_primary(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    layout = Layout(cfg, root=tmp_path)
    balancer = balancers.global_entry(layout, "production")
    balancer._write([], metrics_port=41998)
    text = balancer.config.read_text()
    primary, secondary = text.split("\nbackend primary-region\n")[1].split("\nbackend secondary-region\n")
    assert "server primary 127.0.0.1:18080" in primary and "server secondary" not in primary
    assert "server secondary 127.0.0.1:18090" in secondary
    assert "use_backend primary-region if { nbsrv(primary-region) ge 1 }" in text
    # The primary region counts only while its database takes writes (the example service has one).
    assert 'http-check expect string \'"role":"primary"\'' in primary
    assert "http-check expect status 200" in secondary
    # Route 53's request_interval 10 s * 0.2, one failure_threshold both ways.
    assert "check inter 2000ms rise 2 fall 2" in text


@HAPROXY
def test_an_invalid_config_never_goes_live(cfg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    layout = Layout(cfg, root=tmp_path)
    balancer = balancers.regional(layout, "us-east-1", "production")
    balancer._write([("r-a-0", 41001)], metrics_port=41999)
    live = balancer.config.read_text()
    monkeypatch.setattr(haproxy, "render", lambda *a, **k: "frontend x\n    bind nonsense\n")
    with pytest.raises(GantryError, match="generated HAProxy config for lb-us-east-1-production is invalid"):
        balancer._write([("r-a-1", 41002)], metrics_port=41999)
    assert balancer.config.read_text() == live
