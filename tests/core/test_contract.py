"""The service contract (gantry/contract.py) and the smoke stage that runs what it declares, against a real HTTP
server on 127.0.0.1 that plays a service (a small stand-in: what is tested is gantry's side, the calls it makes
and how it judges the replies; the cart itself answers these checks in tests/local)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from gantry import contract, taskdef
from gantry.config import GantryConfig, load_config
from gantry.errors import ConfigError, GantryError
from gantry.stages import smoke
from gantry.targets.base import Release

ROOT = Path(__file__).resolve().parents[2]
RELEASE = Release("a" * 40, "sha256:" + "b" * 64)
CART = yaml.safe_load((ROOT / "services/cart/service.yaml").read_text())


def test_the_carts_contract_declares_its_checks(cfg: GantryConfig) -> None:
    declared = cfg.service
    assert (declared.name, declared.folder, declared.file) == ("cart", "services/cart", "services/cart/service.yaml")
    assert [c.name for c in declared.smoke] == ["add item", "read cart", "bad input is 400"]
    assert [c.name for c in declared.smoke if c.writes] == ["add item"]
    assert declared.metrics.requests == "cart_http_requests_total"
    assert declared.in_repo(declared.task_definition) == "services/cart/task-definition.json.tpl"


def service_folder(root: Path, body: Any, name: str = "cart") -> Path:
    """A repository at `root` holding services/<name>/ with `body` as its contract and the files it names."""
    folder = root / "services" / name
    folder.mkdir(parents=True, exist_ok=True)
    for file in ("Dockerfile", "task-definition.json.tpl"):
        (folder / file).write_text((ROOT / "services/cart" / file).read_text())
    (folder / "service.yaml").write_text(yaml.safe_dump(body) if not isinstance(body, str) else body)
    return folder / "service.yaml"


CHANGES: dict[str, Any] = {
    "unknown key": lambda d: d["smoke"][0].update(expect=201),
    "unknown top-level key": lambda d: d.update(replicaz=3),
    "other placeholder": lambda d: d["smoke"][1].update(path="/carts/{id}"),
    "body on a GET": lambda d: d["smoke"][1].update(body={"x": 1}),
    "same name twice": lambda d: d["smoke"][2].update(name="add item"),
    "no checks": lambda d: d.update(smoke=[]),
    "bad metric name": lambda d: d["metrics"].update(requests="cart requests"),
    "status out of range": lambda d: d["smoke"][0].update(status=99),
    "port out of range": lambda d: d.update(container_port=70000),
    "no test command": lambda d: d["tests"].pop("command"),
    "other name": lambda d: d.update(name="basket"),
    "dockerfile outside the folder": lambda d: d["build"].update(dockerfile="docs/../../../Dockerfile"),
    "missing dockerfile": lambda d: d["build"].update(dockerfile="Containerfile"),
    "missing template": lambda d: d.update(task_definition="taskdef.json"),
    "relative health path": lambda d: d.update(health={"path": "healthz"}),
    "health path with a query": lambda d: d.update(health={"version": "/version?x=1"}),
    "unknown health key": lambda d: d.update(health={"readiness": "/ready"}),
}
TEXTS = {"not a mapping": "- just\n- a list\n", "bad yaml": "smoke: [\n"}


def mutated(change: str) -> Any:
    if change in TEXTS:
        return TEXTS[change]
    data = json.loads(json.dumps(CART))
    CHANGES[change](data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("unknown key", "smoke.0.expect: unknown field"),
        ("unknown top-level key", "replicaz: unknown field"),
        ("other placeholder", "the only placeholder is {token}"),
        ("body on a GET", "a GET sends no body"),
        ("same name twice", "two checks are named 'add item'"),
        ("no checks", "smoke: List should have at least 1 item"),
        ("bad metric name", "metrics.requests: 'cart requests' is not allowed here: give a value matching"),
        ("status out of range", "smoke.0.status: Input should be greater than or equal to 100"),
        ("port out of range", "container_port: Input should be less than or equal to 65535"),
        ("no test command", "tests.command: Field required"),
        ("other name", "name: 'basket' is not its folder's name 'cart': make them equal"),
        ("dockerfile outside the folder", "build.dockerfile: 'docs/../../../Dockerfile' leaves the service's folder"),
        ("missing dockerfile", "build.dockerfile: services/cart/Containerfile is not a file"),
        ("missing template", "task_definition: services/cart/taskdef.json is not a file"),
        ("relative health path", "health.path: 'healthz' is not allowed here: give a value matching"),
        ("health path with a query", "health.version: '/version?x=1' is not allowed here: give a value matching"),
        ("unknown health key", "health.readiness: unknown field"),
        ("not a mapping", "expected a mapping at the top level"),
        ("bad yaml", "is not valid YAML: fix the syntax"),
    ],
)
def test_a_bad_contract_is_refused_in_one_line_naming_the_file(tmp_path: Path, change: str, message: str) -> None:
    path = service_folder(tmp_path, mutated(change))
    with pytest.raises(ConfigError) as refused:
        contract.load("cart", tmp_path)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert str(refused.value).startswith(f"{path}: " if change != "bad yaml" else str(path))


def test_a_missing_service_or_a_second_one_is_refused_before_anything_runs(
    example: dict[str, Any], write_config: Any
) -> None:
    example["services"] = ["basket"]
    with pytest.raises(ConfigError, match=r"services: basket: services/basket/service.yaml is not a file: write"):
        load_config(str(write_config(example)))
    example["services"] = ["cart", "cart"]
    with pytest.raises(ConfigError, match=r"services: one service per environment file for now"):
        load_config(str(write_config(example)))
    example["services"] = ["../cart"]
    with pytest.raises(ConfigError, match=r"services\.0: service '\.\./cart' is invalid"):
        load_config(str(write_config(example)))


class Service:
    """What the stand-in answers: the standard endpoints, then whatever `replies` maps (method, path) to."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], tuple[int, str, Any]] = {}
        self.calls: list[tuple[str, str, Any]] = []
        self.role = "primary"
        self.health, self.version = "/healthz", "/version"

    def answer(self, method: str, path: str, body: Any) -> tuple[int, str, Any]:
        self.calls.append((method, path, body))
        if path == self.health:
            return 200, "application/json", {"database": {"role": self.role}}
        if path == self.version:
            return 200, "application/json", {"sha": RELEASE.sha, "digest": RELEASE.digest}
        if path == "/metrics":
            return 200, "text/plain", "cart_http_requests_total 3\n"
        for (m, prefix), reply in self.replies.items():
            if m == method and path.startswith(prefix):
                return reply
        return 404, "application/json", {"error": "not found"}


@pytest.fixture
def service() -> Iterator[tuple[Service, str]]:
    state = Service()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, kind, payload = state.answer(self.command, self.path, body)
            data = (json.dumps(payload) if kind == "application/json" else payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def cart_replies(state: Service) -> None:
    state.replies = {
        ("POST", "/carts/smoke-"): (201, "application/json", {"sku": "SMOKE-1", "quantity": 2}),
        ("GET", "/carts/smoke-"): (200, "application/json", {"items": []}),
    }


def test_smoke_runs_the_declared_checks_with_one_token(service: tuple[Service, str]) -> None:
    state, url = service
    cart_replies(state)
    declared = contract.ServiceContract.model_validate(CART)
    # The bad-input check expects 400 and gets 201 from this stand-in: the stage names it and the region.
    with pytest.raises(GantryError, match=r"smoke check 'bad input is 400' failed in r1 \(HTTP 201, expected 400\)"):
        smoke.run({"r1": url}, RELEASE, declared)
    state.replies[("POST", "/carts/smoke-")] = (201, "application/json", {"sku": "SMOKE-1", "quantity": 2})
    declared_ok = declared.model_copy(update={"smoke": declared.smoke[:2]})
    state.calls.clear()
    checks = smoke.run({"r1": url}, RELEASE, declared_ok)
    assert [c.name for c in checks] == ["healthz", "version", "add item", "read cart", "metrics"]
    paths = {path for method, path, _ in state.calls if path.startswith("/carts/")}
    assert len({p.split("/")[2] for p in paths}) == 1  # one token for the run's calls
    assert ("POST", next(iter(p for p in paths if p.endswith("/items"))), {"sku": "SMOKE-1", "quantity": 2}) in (
        state.calls
    )


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        ((201, "application/json", {"sku": "OTHER", "quantity": 2}), "HTTP 201, sku differs"),
        ((201, "text/plain", "ok"), "HTTP 201, not JSON"),
        ((500, "application/json", {}), "HTTP 500, expected 201"),
    ],
)
def test_a_reply_that_breaks_the_contract_fails_smoke(
    service: tuple[Service, str], reply: tuple[int, str, Any], detail: str
) -> None:
    state, url = service
    cart_replies(state)
    state.replies[("POST", "/carts/smoke-")] = reply
    declared = contract.ServiceContract.model_validate(CART)
    with pytest.raises(GantryError, match=rf"'add item' failed in r1 \({detail}\)"):
        smoke.run({"r1": url}, RELEASE, declared)


def test_smoke_probes_the_health_and_version_paths_the_contract_declares(service: tuple[Service, str]) -> None:
    state, url = service
    cart_replies(state)
    state.health, state.version = "/ready", "/about"
    declared = contract.ServiceContract.model_validate({**CART, "smoke": CART["smoke"][:2]})
    assert (declared.health.path, declared.health.version) == ("/healthz", "/version")  # the defaults
    with pytest.raises(GantryError, match=r"smoke check 'healthz' failed in r1 \(HTTP 404\)"):
        smoke.run({"r1": url}, RELEASE, declared)
    state.role = "standby"  # read from the declared health path: the write is left out
    state.calls.clear()
    declared = contract.ServiceContract.model_validate(
        {**CART, "smoke": CART["smoke"][:2], "health": {"path": "/ready", "version": "/about"}}
    )
    checks = smoke.run({"r1": url}, RELEASE, declared)
    assert [c.name for c in checks] == ["healthz", "version", "read cart", "metrics"]
    assert {"/ready", "/about"} <= {path for _, path, _ in state.calls}
    assert not {"/healthz", "/version"} & {path for _, path, _ in state.calls}


def test_writes_are_left_out_where_the_database_is_a_standby(service: tuple[Service, str]) -> None:
    state, url = service
    cart_replies(state)
    state.role = "standby"
    declared = contract.ServiceContract.model_validate(CART)
    declared_reads = declared.model_copy(update={"smoke": declared.smoke[:2]})
    checks = smoke.run({"r2": url}, RELEASE, declared_reads)
    assert "add item" not in [c.name for c in checks]
    assert not [call for call in state.calls if call[0] == "POST"]


def test_the_traffic_profile_renders_each_write_and_finds_it_again() -> None:
    traffic = contract.ServiceContract.model_validate(CART).traffic
    assert traffic is not None
    assert traffic.key("drill-1", 0) == ("drill-1-0", "000")
    assert traffic.key("drill-1", 91) == ("drill-1-1", "001")  # 90 writes per group
    assert traffic.write.render("g", "007") == ("POST", "/carts/g/items", {"sku": "SKU-007", "quantity": 1})
    assert traffic.read.render("g", "") == ("GET", "/carts/g", None)
    reply = {"items": [{"sku": "SKU-007", "quantity": 1}]}
    assert traffic.found(reply, "g", "007")
    assert not traffic.found(reply, "g", "008")
    assert not traffic.found({"items": "SKU-007"}, "g", "007") and not traffic.found([], "g", "007")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"path": "/carts/items"}, "name the group ({group})"),
        ({"path": "/carts/{group}/{id}"}, "the only placeholders are {group} and {item}"),
    ],
)
def test_a_bad_traffic_profile_is_refused(tmp_path: Path, change: dict[str, str], message: str) -> None:
    data = json.loads(json.dumps(CART))
    data["traffic"]["write"].update(change)
    service_folder(tmp_path, data)
    with pytest.raises(ConfigError, match=r"traffic\.write: .*" + re.escape(message)):
        contract.load("cart", tmp_path)


def shipped(tmp_path: Path, example: dict[str, Any], change: Any, monkeypatch: pytest.MonkeyPatch) -> GantryConfig:
    """The example environment file shipping the cart of a checkout at tmp_path whose contract got `change`."""
    data = json.loads(json.dumps(CART))
    change(data)
    service_folder(tmp_path, data)
    monkeypatch.setenv("GANTRY_ROOT", str(tmp_path))
    (tmp_path / "env.yaml").write_text(yaml.safe_dump(example))
    return load_config(str(tmp_path / "env.yaml"))


def rendered(cfg: GantryConfig, env: str) -> dict[str, Any]:
    def source(path: str) -> str:
        return (ROOT / path).read_text()

    return taskdef.render(
        cfg,
        source,
        image="r/cart@" + RELEASE.digest,
        sha=RELEASE.sha,
        digest=RELEASE.digest,
        env=env,
        region="us-east-1",
    )


def test_variables_and_per_environment_settings_render_into_the_task_definition(
    tmp_path: Path, example: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def change(c: dict[str, Any]) -> None:
        c["variables"] = {"LOG_LEVEL": "info", "FEATURE_X": "off"}
        c["environments"] = {
            "production": {"replicas": 3, "cpu": 512, "memory": 1024, "variables": {"FEATURE_X": "on"}}
        }

    cfg = shipped(tmp_path, example, change, monkeypatch)
    [staging] = rendered(cfg, "staging")["containerDefinitions"]
    [production] = rendered(cfg, "production")["containerDefinitions"]
    variables = {
        env: {e["name"]: e["value"] for e in c["environment"]} for env, c in (("s", staging), ("p", production))
    }
    assert (variables["s"]["LOG_LEVEL"], variables["s"]["FEATURE_X"]) == ("info", "off")
    assert (variables["p"]["LOG_LEVEL"], variables["p"]["FEATURE_X"]) == ("info", "on")
    assert variables["p"]["GIT_SHA"] == RELEASE.sha  # gantry's own are kept
    assert (staging["cpu"], staging["memory"], production["cpu"], production["memory"]) == (256, 256, 512, 1024)
    assert (cfg.replicas("staging"), cfg.replicas("production")) == (2, 3)
    # What production runs is what its approval binds: another variable is another task definition.
    assert taskdef.fingerprint(rendered(cfg, "production")) != taskdef.fingerprint(rendered(cfg, "staging"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(variables={"GIT_SHA": "x"}), "variables: GIT_SHA is set by gantry itself"),
        (
            lambda c: c.update(environments={"production": {"variables": {"DATABASE_URL": "x"}}}),
            "environments.production.variables: DATABASE_URL is set by gantry itself",
        ),
        (lambda c: c.update(variables={"log-level": "x"}), "variables.log-level"),
        (lambda c: c.update(environments={"prod": {"replicas": 2}}), "environments.prod: no such environment"),
        (lambda c: c.update(environments={"production": {"replicas": 0}}), "environments.production.replicas"),
        (lambda c: c.update(environments={"production": {"cpu": 10**9}}), "environments.production.cpu"),
    ],
)
def test_bad_variables_or_overrides_are_refused_naming_the_contract(
    tmp_path: Path, example: dict[str, Any], monkeypatch: pytest.MonkeyPatch, change: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        shipped(tmp_path, example, change, monkeypatch)
    assert message in str(refused.value) and "services/cart/service.yaml" in str(refused.value), refused.value
