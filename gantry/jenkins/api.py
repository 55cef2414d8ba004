"""The Jenkins REST calls gantry makes, on top of python-jenkins.

python-jenkins covers jobs, the queue and build info; progressive console text and pipeline input
(pending approvals) have no helper there, so they go through its authenticated request method (same
session, auth and CSRF crumb). Every failure becomes a one-line GantryError.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from gantry.errors import GantryError
from gantry.jenkins.credentials import JenkinsCredentials

# Imported by name at run time: the repository's own jenkins/ directory would otherwise shadow python-jenkins
# for type checkers run from the repository root (at run time the installed package wins).
jenkins: Any = importlib.import_module("jenkins")

REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class ConsoleChunk:
    text: str
    next_start: int
    more: bool


@dataclass(frozen=True)
class PendingInput:
    id: str
    message: str
    proceed_text: str


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn python-jenkins and HTTP errors into one actionable line (the token never appears in them)."""
    try:
        yield
    except jenkins.NotFoundException:
        raise GantryError(
            f"{what}: not found on the controller (check the job name, or run gantry jenkins sync)"
        ) from None
    except jenkins.JenkinsException as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        if "401" in first or "403" in first:
            raise GantryError(
                f"{what}: the controller refused the credentials (check JENKINS_USER / JENKINS_API_TOKEN "
                "and the user's permissions)"
            ) from None
        raise GantryError(f"{what}: {first}") from None
    except requests.RequestException as exc:
        raise GantryError(f"{what}: cannot reach Jenkins ({exc.__class__.__name__}); check JENKINS_URL") from None


def _job_path(job: str) -> str:
    return "".join(f"job/{quote(part, safe='')}/" for part in job.split("/"))


class Controller:
    """One Jenkins controller, authenticated as the user whose credentials were loaded."""

    def __init__(self, credentials: JenkinsCredentials, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        self.url = credentials.url
        self.server = jenkins.Jenkins(
            credentials.url, username=credentials.user, password=credentials.api_token, timeout=timeout
        )

    def _request(
        self,
        method: str,
        path: str,
        what: str,
        params: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
    ) -> requests.Response:
        with _translated(what):
            response: requests.Response = self.server.jenkins_request(
                requests.Request(method, self.url + path, params=params, data=form)
            )
            return response

    def whoami(self) -> str:
        with _translated("who am I"):
            return str(self.server.get_whoami()["id"])

    def trigger(self, job: str, parameters: dict[str, str]) -> int:
        """Queue a build with parameters; returns the queue item number."""
        with _translated(f"trigger {job}"):
            return int(self.server.build_job(job, parameters=parameters))

    def queue_item(self, number: int) -> dict[str, Any]:
        with _translated(f"queue item {number}"):
            item: dict[str, Any] = self.server.get_queue_item(number)
            return item

    def build_info(self, job: str, number: int) -> dict[str, Any]:
        with _translated(f"{job} #{number}"):
            info: dict[str, Any] = self.server.get_build_info(job, number)
            return info

    def job_info(self, job: str) -> dict[str, Any]:
        with _translated(job):
            info: dict[str, Any] = self.server.get_job_info(job)
            return info

    def job_names(self) -> list[str]:
        with _translated("list jobs"):
            return sorted(str(job["fullname"]) for job in self.server.get_all_jobs())

    def console(self, job: str, number: int, start: int) -> ConsoleChunk:
        """The console text from byte `start` on (Jenkins' progressiveText endpoint)."""
        response = self._request(
            "GET",
            f"{_job_path(job)}{number}/logText/progressiveText",
            f"console of {job} #{number}",
            params={"start": start},
        )
        size = int(response.headers.get("X-Text-Size", start + len(response.content)))
        more = response.headers.get("X-More-Data", "").lower() == "true"
        return ConsoleChunk(text=response.text, next_start=size, more=more)

    def pending_inputs(self, job: str, number: int) -> list[PendingInput]:
        """Inputs the build waits on (pipeline-stage-view's wfapi)."""
        response = self._request(
            "GET", f"{_job_path(job)}{number}/wfapi/pendingInputActions", f"pending approvals of {job} #{number}"
        )
        try:
            actions = json.loads(response.text or "[]")
        except ValueError:
            raise GantryError(f"pending approvals of {job} #{number}: the controller sent no JSON") from None
        return [
            PendingInput(
                id=str(a["id"]), message=str(a.get("message", "")), proceed_text=str(a.get("proceedText", "Proceed"))
            )
            for a in actions
        ]

    def answer_input(
        self, job: str, number: int, input_id: str, *, approve: bool, parameters: dict[str, str] | None = None
    ) -> None:
        """Proceed (as the authenticated user, whom Jenkins records as the submitter) with the input's
        parameters, or abort it. Proceeding is the input form's own submit: `json` holds the parameters and
        `proceed` names the button."""
        base = f"{_job_path(job)}{number}/input/{quote(input_id, safe='')}"
        what = f"{'approve' if approve else 'reject'} {job} #{number}"
        if not approve:
            self._request("POST", f"{base}/abort", what)
            return
        values = [{"name": name, "value": value} for name, value in (parameters or {}).items()]
        form = {"json": json.dumps({"parameter": values}), "proceed": "Proceed"}
        self._request("POST", f"{base}/submit", what, form=form)
