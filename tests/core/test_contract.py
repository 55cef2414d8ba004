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

from gantry import contract
from gantry.config import GantryConfig, load_config
from gantry.errors import ConfigError, GantryError
from gantry.stages import smoke
from gantry.targets.base import Release

ROOT = Path(__file__).resolve().parents[2]
RELEASE = Release("a" * 40, "sha256:" + "b" * 64)
CART = yaml.safe_load((ROOT / "app/service.yaml").read_text())


def test_the_carts_contract_declares_its_checks(cfg: GantryConfig) -> None:
    declared = contract.load(cfg, ROOT)
    assert [c.name for c in declared.smoke] == ["add item", "read cart", "bad input is 400"]
    assert [c.name for c in declared.smoke if c.writes] == ["add item"]
    assert declared.metrics.requests == "cart_http_requests_total"


def with_contract(tmp_path: Path, example: dict[str, Any], body: Any, path: str = "service.yaml") -> GantryConfig:
    (tmp_path / "service.yaml").write_text(yaml.safe_dump(body) if not isinstance(body, str) else body)
    example["service"]["contract"] = path
    (tmp_path / "env.yaml").write_text(yaml.safe_dump(example))
    return load_config(str(tmp_path / "env.yaml"))


def mutated(change: str) -> Any:
    data = json.loads(json.dumps(CART))
    if change == "unknown key":
        data["smoke"][0]["expect"] = 201
    elif change == "other placeholder":
        data["smoke"][1]["path"] = "/carts/{id}"
    elif change == "body on a GET":
        data["smoke"][1]["body"] = {"x": 1}
    elif change == "same name twice":
        data["smoke"][2]["name"] = "add item"
    elif change == "no checks":
        data["smoke"] = []
    elif change == "bad metric name":
        data["metrics"]["requests"] = "cart requests"
    elif change == "status out of range":
        data["smoke"][0]["status"] = 99
    elif change == "not a mapping":
        return "- just\n- a list\n"
    elif change == "bad yaml":
        return "smoke: [\n"
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("unknown key", "smoke.0.expect: unknown field"),
        ("other placeholder", "the only placeholder is {token}"),
        ("body on a GET", "a GET sends no body"),
        ("same name twice", "two checks are named 'add item'"),
        ("no checks", "smoke: List should have at least 1 item"),
        ("bad metric name", "metrics.requests: String should match pattern"),
        ("status out of range", "smoke.0.status: Input should be greater than or equal to 100"),
        ("not a mapping", "Input should be a valid dictionary"),
        ("bad yaml", "is not valid YAML: fix the syntax"),
    ],
)
def test_a_bad_contract_is_refused_in_one_line_naming_the_file(
    tmp_path: Path, example: dict[str, Any], change: str, message: str
) -> None:
    cfg = with_contract(tmp_path, example, mutated(change))
    with pytest.raises(ConfigError) as refused:
        contract.load(cfg, tmp_path)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    if change != "bad yaml":
        assert str(refused.value).startswith(f"{tmp_path / 'service.yaml'}: ")


def test_a_contract_outside_the_repository_or_missing_is_refused(tmp_path: Path, example: dict[str, Any]) -> None:
    (tmp_path / "repo").mkdir()
    cfg = with_contract(tmp_path, example, CART, path="x/../../service.yaml")
    with pytest.raises(ConfigError, match=r"service.contract: .* leaves the repository"):
        contract.load(cfg, tmp_path / "repo")
    cfg = with_contract(tmp_path, example, CART, path="nowhere.yaml")
    with pytest.raises(ConfigError, match=r"service\.contract: nowhere\.yaml is not a file"):
        contract.load(cfg, tmp_path)


class Service:
    """What the stand-in answers: the standard endpoints, then whatever `replies` maps (method, path) to."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], tuple[int, str, Any]] = {}
        self.calls: list[tuple[str, str, Any]] = []
        self.role = "primary"

    def answer(self, method: str, path: str, body: Any) -> tuple[int, str, Any]:
        self.calls.append((method, path, body))
        if path == "/healthz":
            return 200, "application/json", {"database": {"role": self.role}}
        if path == "/version":
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
def test_a_bad_traffic_profile_is_refused(
    tmp_path: Path, example: dict[str, Any], change: dict[str, str], message: str
) -> None:
    data = json.loads(json.dumps(CART))
    data["traffic"]["write"].update(change)
    cfg = with_contract(tmp_path, example, data)
    with pytest.raises(ConfigError, match=r"traffic\.write: .*" + re.escape(message)):
        contract.load(cfg, tmp_path)
