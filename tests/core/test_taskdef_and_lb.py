"""The task definition template renders for the local target, and generated load balancer configs pass
the real `nginx -t` (both with replicas and before the first deploy)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gantry.errors import GantryError
from gantry.local import nginx
from gantry.local.layout import Layout
from gantry.taskdef import container_spec, render

DIGEST = "sha256:" + "d" * 64


def test_task_definition_renders_to_the_container_the_local_target_runs(cfg) -> None:  # type: ignore[no-untyped-def]
    rendered = render(
        cfg, image=f"reg/example/cart@{DIGEST}", sha="f" * 40, digest=DIGEST, env="production", region="us-west-2"
    )
    assert rendered["family"] == "example-cart-production"
    spec = container_spec(rendered)
    assert spec.image.endswith(DIGEST) and spec.container_port == 80 and spec.read_only
    assert spec.environment == {
        "GIT_SHA": "f" * 40,
        "IMAGE_DIGEST": DIGEST,
        "DEPLOY_ENV": "production",
        "REGION": "us-west-2",
    }
    assert spec.health is not None and spec.health.shell_command() == ["/bin/sh", "-c", "python3 /app/healthcheck.py"]
    assert (spec.cpu, spec.memory) == (cfg.service.cpu, cfg.service.memory)


@pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
    reason="nginx is not installed: run `make bootstrap`",
)
@pytest.mark.parametrize("upstreams", [[], [41001, 41002]])
def test_load_balancer_config_passes_nginx_check(cfg, tmp_path: Path, upstreams: list[int]) -> None:  # type: ignore[no-untyped-def]
    layout = Layout(cfg, root=tmp_path)
    nginx.write_config(layout, "us-east-1", "production", upstreams)
    text = (layout.lb("us-east-1", "production") / "nginx.conf").read_text()
    assert "listen 127.0.0.1:18080;" in text
    assert all(f"server 127.0.0.1:{port}" in text for port in upstreams)
    assert ("return 503" in text) == (not upstreams)


def test_an_invalid_config_never_goes_live(cfg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    layout = Layout(cfg, root=tmp_path)
    nginx.write_config(layout, "us-east-1", "production", [41001])
    live = (layout.lb("us-east-1", "production") / "nginx.conf").read_text()
    monkeypatch.setattr(nginx, "render", lambda *a, **k: "events {}\nhttp { server { listen nonsense; } }\n")
    with pytest.raises(GantryError, match="generated nginx config for production in us-east-1 is invalid"):
        nginx.write_config(layout, "us-east-1", "production", [41002])
    assert (layout.lb("us-east-1", "production") / "nginx.conf").read_text() == live


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("localhost/gantry/golden-base:bookworm", ("gantry/golden-base", "bookworm")),
        ("localhost/gantry/debian-base:bookworm", ("gantry/debian-base", "bookworm")),
        ("registry.example.com:5000/team/base", ("team/base", "latest")),
        ("team/base:1", ("team/base", "1")),
    ],
)
def test_base_image_repository_in_the_primary_registry(name: str, expected: tuple[str, str]) -> None:
    from gantry.stages.baseimage import _repository_and_tag

    assert _repository_and_tag(name) == expected
