"""A local HTTP stand-in for the few Jenkins REST endpoints that `gantry jenkins` uses.

No Jenkins server distribution is reachable from this machine (it is not in Debian, PyPI or npm), so the
python-jenkins commands are tested against this stand-in, bound to 127.0.0.1 on a port in 23000-23999.
It follows Jenkins' documented behaviour for just these endpoints:
  - HTTP basic auth with a user's API token (401 otherwise); a CSRF crumb (crumbIssuer) required on POST;
  - POST job/<name>/buildWithParameters -> 201 with Location: queue/item/<n>/;
  - queue/item/<n>/api/json: "why" while waiting, then "executable" {number, url};
  - job/<name>/<n>/logText/progressiveText?start=N with X-Text-Size and X-More-Data;
  - job/<name>/<n>/api/json (building, result), job/<name>/api/json (lastBuild), api/json (jobs), me/api/json;
  - job/<name>/<n>/wfapi/pendingInputActions and input/<id>/submit|abort, with the input's submitter
    (submit carries the input's parameters as the form field `json`, as the input page's form does)
    checked against the user's id and groups;
  - createItem, job/<name>/config.xml (GET/POST), job/<name>/doDelete for Jenkins Job Builder.
Its fidelity is limited to what these tests assert; it is not Jenkins.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PORT_RANGE = range(23000, 24000)
CRUMB = "c0ffee-crumb"
ROOT = Path(__file__).resolve().parents[2]
JOBS_DIR = ROOT / "jenkins" / "jobs"
# Test users: approvers are members of the Jenkins group the pipeline's input names as submitter.
TOKENS = {"alice": "alice-token-5ec7e7", "bob": "bob-token-5ec7e7", "mallory": "mallory-token-5ec7e7"}
GROUPS = {"alice": ["approvers"], "bob": ["approvers", "developers"], "mallory": ["developers"]}
PIPELINE = "example-cart-pipeline"


def render(jobs_dir: Path, out: Path) -> None:
    """Render jobs offline with Jenkins Job Builder: OUT/<job>/config.xml."""
    jjb = Path(sys.executable).parent / "jenkins-jobs"
    result = subprocess.run(
        [str(jjb), "test", str(jobs_dir), "-o", str(out), "--config-xml"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"jenkins-jobs test failed: {result.stderr[-2000:]}")


@dataclass
class Plan:
    """What the next build of a job does: console lines, an optional approval, and its result."""

    lines: list[str]
    result: str = "SUCCESS"
    approval_after: int | None = None  # number of lines printed before the input is pending
    submitter: str = "approvers"
    input_message: str = "Deploy to production?"
    queue_polls: int = 1  # polls answered with "why" before the build starts


@dataclass
class Build:
    job: str
    number: int
    plan: Plan
    parameters: dict[str, str]
    printed: int = 0
    input_state: str = "none"  # none | pending | approved | aborted
    approver: str | None = None
    answer: dict[str, str] = field(default_factory=dict)  # the input's parameters the approver submitted
    result: str | None = None

    @property
    def text(self) -> str:
        return "".join(line + "\n" for line in self.plan.lines[: self.printed])

    def advance(self) -> None:
        """One more line per poll, pausing at the approval until it is answered."""
        if self.result is not None:
            return
        at_input = self.plan.approval_after is not None and self.printed == self.plan.approval_after
        if at_input and self.input_state == "none":
            self.input_state = "pending"
            self.plan.lines.insert(self.printed, f"[Pipeline] input\n{self.plan.input_message}")
            self.printed += 1
            self.plan.approval_after = None
            return
        if self.input_state == "pending":
            return
        if self.printed < len(self.plan.lines):
            self.printed += 1
        if self.printed >= len(self.plan.lines):
            self.plan.lines.append(f"Finished: {self.plan.result}")
            self.printed += 1
            self.result = self.plan.result


@dataclass
class QueueItem:
    job: str
    parameters: dict[str, str]
    polls_left: int
    build: Build | None = None


@dataclass
class State:
    users: dict[str, str]
    groups: dict[str, list[str]]
    jobs: dict[str, str] = field(default_factory=dict)  # name -> config.xml
    plans: dict[str, list[Plan]] = field(default_factory=dict)
    builds: dict[str, list[Build]] = field(default_factory=dict)
    queue: dict[int, QueueItem] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def build(self, job: str, number: int) -> Build | None:
        for candidate in self.builds.get(job, []):
            if candidate.number == number:
                return candidate
        return None


class Handler(BaseHTTPRequestHandler):
    server: StandinServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing -------------------------------------------------------------------------------------

    def _user(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, token = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.server.state.users.get(user) == token else None

    def _send(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        raw = b""
        if body is not None:
            raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("X-Jenkins", "2.492.3")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path).strip("/")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        user = self._user()
        state = self.server.state
        with state.lock:
            state.requests.append((method, self.path, user))
        if user is None:
            self._send(401, {"error": "unauthorized"})
            return
        if method == "POST" and self.headers.get("Jenkins-Crumb") != CRUMB:
            self._send(403, "No valid crumb was included in the request", content_type="text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        with state.lock:
            self._route(method, path, query, body, user)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    # -- routes ---------------------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, str], body: str, user: str) -> None:
        state = self.server.state
        segments = path.split("/") if path else []
        if path == "":
            self._send(200, "<html>Dashboard</html>", content_type="text/html")
        elif path == "crumbIssuer/api/json":
            self._send(200, {"crumbRequestField": "Jenkins-Crumb", "crumb": CRUMB})
        elif path == "me/api/json":
            self._send(200, {"id": user, "fullName": user})
        elif path == "api/json":
            jobs = [{"name": n, "url": f"{self._base()}job/{n}/", "color": "blue"} for n in sorted(state.jobs)]
            views = [{"name": "all", "url": self._base()}]
            self._send(200, {"mode": "EXCLUSIVE", "jobs": jobs, "views": views})
        elif path == "createItem" and method == "POST":
            name = query["name"]
            if name in state.jobs:
                self._send(400, f"A job already exists with the name '{name}'", content_type="text/plain")
            else:
                state.jobs[name] = body
                self._send(200, "")
        elif len(segments) >= 2 and segments[0] == "queue" and segments[1] == "item":
            self._queue_item(int(segments[2]))
        elif segments and segments[0] == "job" and len(segments) >= 2:
            self._job_route(method, segments[1], segments[2:], query, body, user)
        else:
            self._send(404, {"error": f"no route {path}"})

    def _queue_item(self, number: int) -> None:
        item = self.server.state.queue.get(number)
        if item is None:
            self._send(404, {"error": "no such queue item"})
            return
        if item.build is None and item.polls_left > 0:
            item.polls_left -= 1
            self._send(200, {"id": number, "why": "Waiting for next available executor on 'gantry'"})
            return
        if item.build is None:
            builds = self.server.state.builds.setdefault(item.job, [])
            plans = self.server.state.plans.get(item.job) or [Plan(lines=["nothing planned"])]
            plan = plans.pop(0) if len(plans) > 1 else plans[0]
            item.build = Build(
                item.job, len(builds) + 1, Plan(**{**plan.__dict__, "lines": list(plan.lines)}), item.parameters
            )
            builds.append(item.build)
        url = f"{self._base()}job/{item.job}/{item.build.number}/"
        self._send(200, {"id": number, "executable": {"number": item.build.number, "url": url}})

    def _job_route(self, method: str, job: str, rest: list[str], query: dict[str, str], body: str, user: str) -> None:
        state = self.server.state
        if job not in state.jobs:
            self._send(404, {"error": f"no job {job}"})
            return
        if rest == ["api", "json"]:
            builds = state.builds.get(job, [])
            last = {"number": builds[-1].number} if builds else None
            self._send(200, {"name": job, "fullName": job, "lastBuild": last, "color": "blue"})
        elif rest == ["config.xml"]:
            if method == "POST":
                state.jobs[job] = body
                self._send(200, "")
            else:
                self._send(200, state.jobs[job], content_type="application/xml")
        elif rest == ["doDelete"] and method == "POST":
            del state.jobs[job]
            self._send(302, "", headers={"Location": self._base()})
        elif rest == ["buildWithParameters"] and method == "POST":
            number = len(state.queue) + 1
            plans = state.plans.get(job) or [Plan(lines=["nothing planned"])]
            state.queue[number] = QueueItem(job, dict(query), polls_left=plans[0].queue_polls)
            self._send(201, "", headers={"Location": f"{self._base()}queue/item/{number}/"})
        elif rest and rest[0].isdigit():
            build = state.build(job, int(rest[0]))
            if build is None:
                self._send(404, {"error": "no such build"})
            else:
                self._build_route(method, build, rest[1:], query, user, body)
        else:
            self._send(404, {"error": f"no route job/{job}/{'/'.join(rest)}"})

    def _build_route(
        self, method: str, build: Build, rest: list[str], query: dict[str, str], user: str, body: str = ""
    ) -> None:
        if rest == ["api", "json"]:
            self._send(
                200,
                {
                    "number": build.number,
                    "building": build.result is None,
                    "result": build.result,
                    "url": f"{self._base()}job/{build.job}/{build.number}/",
                },
            )
        elif rest == ["logText", "progressiveText"]:
            build.advance()
            start = int(query.get("start", "0"))
            raw = build.text.encode()
            headers = {"X-Text-Size": str(len(raw))}
            if build.result is None:
                headers["X-More-Data"] = "true"
            self._send(200, raw[start:].decode(), headers=headers, content_type="text/plain")
        elif rest == ["wfapi", "pendingInputActions"]:
            pending = []
            if build.input_state == "pending":
                base = f"/job/{build.job}/{build.number}/input/ProductionApproval/"
                pending.append(
                    {
                        "id": "ProductionApproval",
                        "proceedText": "Deploy to production",
                        "message": build.plan.input_message,
                        "inputs": [],
                        "proceedUrl": base + "submit",
                        "abortUrl": base + "abort",
                    }
                )
            self._send(200, pending)
        elif len(rest) == 3 and rest[0] == "input" and method == "POST":
            self._answer(build, rest[1], rest[2], user, body)
        else:
            self._send(404, {"error": "no route"})

    def _answer(self, build: Build, input_id: str, action: str, user: str, body: str) -> None:
        if build.input_state != "pending" or input_id != "ProductionApproval":
            self._send(404, {"error": "no such input"})
            return
        allowed = {s.strip() for s in build.plan.submitter.split(",")}
        if user not in allowed and not allowed.intersection(self.server.state.groups.get(user, [])):
            self._send(403, f"You need to be {build.plan.submitter} to submit this", content_type="text/plain")
            return
        if action == "submit":
            form = urllib.parse.parse_qs(body)
            if "proceed" not in form or "json" not in form:
                self._send(400, "the input form needs `proceed` and `json`", content_type="text/plain")
                return
            build.answer = {p["name"]: p["value"] for p in json.loads(form["json"][0])["parameter"]}
            build.input_state = "approved"
            build.approver = user
            build.plan.lines.insert(build.printed, f"Approved by {user}")
        elif action == "abort":
            build.input_state = "aborted"
            build.plan.lines[build.printed :] = [f"Rejected by {user}"]
            build.plan.result = "ABORTED"
        else:
            self._send(404, {"error": "no such action"})
            return
        self._send(200, "")


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: State) -> None:
        self.state = state
        for port in PORT_RANGE:
            try:
                super().__init__(("127.0.0.1", port), Handler)
            except OSError:
                continue
            return
        raise RuntimeError("no free port in 23000-23999 (this area's range)")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"
