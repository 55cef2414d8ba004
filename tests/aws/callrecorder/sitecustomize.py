"""Test only: records what a `gantry` process asks of AWS, for the least-privilege check (tests/aws/least_privilege.py).

Python imports this module at start-up when its directory is on PYTHONPATH (the aws end-to-end tests put it
there for the gantry processes they start) and GANTRY_TEST_CALL_LOG names a directory; anything else started
with that environment (git, skopeo, a non-gantry Python) is left alone. Each gantry process appends JSON lines
to `<dir>/<pid>.jsonl`, one per AWS request:

- real: every API call through a boto3 session of gantry's `Clients` (gantry/targets/aws/clients.py), seen by
  botocore's `before-call.*.*` hook, which fires once per request actually sent (per page of a paginator,
  not per retry, never for a request botocore refused to build). Its parameters come from the
  `before-parameter-build` hook of the same call: every top-level scalar or list of scalars, the DynamoDB
  `Key` and the task definition's roles, family and tag keys; record bodies, messages and secrets are left out.
- implied: what reaches AWS without botocore, recorded where gantry starts it, with the IAM actions AWS
  authorizes it by: git over CodeCommit's HTTPS (`codecommit:GitPull`/`GitPush`, gantry/targets/aws/source.py
  and AwsTarget._fetched) and the registry traffic of a push (skopeo, SkopeoPusher) or of the build's pull of
  the golden base (the engine, after AwsTarget.engine_login). Against moto these go to stand-ins (bare git
  repositories, docker-registry), so nothing on the wire proves them: they are what the code would do on AWS.

Every line names the command (`gantry <args>`), the pipeline stage running (gantry.stages.progress.stage; null
outside one), the role the call ran as (`role`: the ARN of the identity gantry assumed, Clients.act_as; null
for the agent's own credentials) and the principal (GANTRY_TEST_PRINCIPAL, default `agent`; `approver` for an
approver's own machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOG_DIR = os.environ.get("GANTRY_TEST_CALL_LOG")
DROPPED = {"Value", "Message", "Subject", "SecretString", "SecretBinary", "imageManifest", "MessageAttributes"}
KEPT_NESTED = {"Key", "tags"}


def _install() -> None:
    # Imported only in a gantry process: the patches must be in place before gantry.cli imports the stages.
    from gantry.stages import progress
    from gantry.targets.aws import clients, ecr, source, target

    state: dict[str, Any] = {"stage": None}
    lock = threading.Lock()
    path = Path(LOG_DIR or ".") / f"{os.getpid()}.jsonl"
    command = " ".join(sys.argv[1:])
    principal = os.environ.get("GANTRY_TEST_PRINCIPAL", "agent")
    current: dict[str, Any] = {"clients": None}

    def role_now() -> str | None:
        """The role of the identity the process acts as now (implied calls go out with it)."""
        clients_ = current["clients"]
        if clients_ is None or clients_.identity is None:
            return None
        return str(clients_.settings.roles[clients_.identity])

    def write(entry: dict[str, Any]) -> None:
        entry.setdefault("role", role_now())
        line = json.dumps(
            {"command": command, "principal": principal, "stage": state["stage"], **entry}, default=str, sort_keys=True
        )
        with lock, path.open("a") as handle:
            handle.write(line + "\n")

    real_stage = progress.stage

    @contextlib.contextmanager
    def stage(name: str, run_id: str | None) -> Iterator[Any]:
        outer, state["stage"] = state["stage"], name
        try:
            with real_stage(name, run_id) as step:
                yield step
        finally:
            state["stage"] = outer

    progress.stage = stage

    def params_of(**kwargs: Any) -> None:
        kwargs["context"]["gantry_test_params"] = _kept(kwargs["params"])

    def called(role: str | None, **kwargs: Any) -> None:
        model = kwargs["model"]
        service = model.service_model
        prefix = (
            "cloudwatch" if service.service_name == "cloudwatch" else (service.signing_name or service.endpoint_prefix)
        )
        write(
            {
                "kind": "api",
                "service": service.service_name,
                "operation": model.name,
                "action": f"{prefix}:{model.name}",
                "region": kwargs["context"].get("client_region"),
                "params": kwargs["context"].get("gantry_test_params", {}),
                "role": role,
            }
        )

    def instrument(self: Any, session: Any, role_arn: str | None) -> None:
        # Before any client of the session exists: a client copies the session's handlers when it is created.
        current["clients"] = self
        session.events.register("before-parameter-build.*.*", params_of)
        session.events.register("before-call.*.*", lambda **kwargs: called(role_arn, **kwargs))

    clients.Clients.instrument = instrument  # type: ignore[method-assign]

    def implied(actions: list[str], region: str, resource: dict[str, str], why: str) -> None:
        write({"kind": "implied", "actions": actions, "region": region, "resource": resource, "why": why})

    def repository(copies: Any, region: str) -> dict[str, str]:
        return {"codecommit_repository": copies.regions[region].source_repository}

    real_push, real_mirror = source.SourceCopies.push, source.SourceCopies.mirror

    def push(self: Any, repo: Path, region: str, commits: list[str]) -> None:
        implied(["codecommit:GitPush"], region, repository(self, region), "git push to the source copy")
        real_push(self, repo, region, commits)

    def mirror(self: Any, source: str, destination: str) -> dict[str, str]:  # source.SourceCopies.mirror's names
        implied(["codecommit:GitPull"], source, repository(self, source), "git clone --mirror")
        implied(["codecommit:GitPush"], destination, repository(self, destination), "git push --prune (mirror)")
        implied(["codecommit:GitPull"], destination, repository(self, destination), "git ls-remote (refs compared)")
        return dict(real_mirror(self, source, destination))

    source.SourceCopies.push = push  # type: ignore[method-assign]
    source.SourceCopies.mirror = mirror  # type: ignore[method-assign]

    real_fetched = target.AwsTarget._fetched

    def fetched(self: Any, commit: str) -> Path:
        primary = self.cfg.regions.primary
        if commit not in self._have:
            implied(["codecommit:GitPull"], primary, repository(self.source, primary), "git fetch of a commit")
        return Path(real_fetched(self, commit))

    target.AwsTarget._fetched = fetched  # type: ignore[method-assign]

    real_login = target.AwsTarget.engine_login

    def engine_login(self: Any, client: Any) -> None:
        base = self.settings.base_image
        if base is not None and base.repository is not None:
            implied(
                ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                self.cfg.regions.primary,
                {"ecr_repository": base.repository},
                "the engine pulls the golden base from ECR",
            )
        real_login(self, client)

    target.AwsTarget.engine_login = engine_login  # type: ignore[method-assign]

    real_skopeo = ecr.SkopeoPusher.push

    def skopeo(self: Any, local_image: str, repository_uri: str, tag: str) -> str:
        host, _, name = repository_uri.partition("/")
        implied(
            [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
                "ecr:BatchGetImage",
            ],
            host.split(".")[3],
            {"ecr_repository": name},
            "skopeo copy to the ECR registry",
        )
        return str(real_skopeo(self, local_image, repository_uri, tag))

    ecr.SkopeoPusher.push = skopeo  # type: ignore[method-assign]


def _kept(params: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in params.items():
        if key in DROPPED:
            continue
        if isinstance(value, (str, int, float, bool)) or (
            isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value)
        ):
            kept[key] = value
        elif key in KEPT_NESTED:
            kept[key] = value if key == "Key" else [t.get("key") for t in value]
    return kept


if LOG_DIR and Path(sys.argv[0] if sys.argv else "").name == "gantry":
    _install()
