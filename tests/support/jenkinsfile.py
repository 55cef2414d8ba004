"""The Jenkinsfile's own steps, read from the Jenkinsfile and run as a fresh Jenkins agent would run them.

Every step the pipeline takes is a `gantry(...)` call or a known Jenkins step; this reads them in order, per
stage and per post condition, and runs the gantry commands through bash (so `$VARS` expand as in `sh`). Any
other step is an error here: a new kind of step in the Jenkinsfile must be taught to this runner, so the test
and the pipeline cannot drift apart silently. What Jenkins itself does (input, checkout, locks, milestones)
is simulated and said so: the approver's answer is supplied by the test.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GANTRY = re.compile(r"""(?:env\.(?P<var>[A-Z_]+)\s*=\s*)?gantry\('(?P<args>[^']*)'(?P<out>,\s*true)?\)""")
STAGE = re.compile(r"""^\s*stage\('(?P<name>[^']+)'\)""")
POST = re.compile(r"^\s*(?P<name>success|failure|aborted|cleanup)\s*\{")
# Jenkins steps this runner knows and what it does with them ("" = nothing to do on a fresh agent).
KNOWN = {
    "checkout(scm)": "",  # the test's clone is the fresh checkout
    "milestone(": "",
    "timeout(": "",
    "lock(": "",
    "echo ": "",
    "script {": "",
    "if (params.SHA": "",  # SHA is empty: the branch head is built
    "sh 'git checkout --detach": "",
    "archiveArtifacts(": "",
    "def answer = input(": "input",
    "env.APPROVER = answer.APPROVER": "",
    "writeFile(file: 'approval.json'": "write-approval",
    "sh 'gantry run show > run-record.json": "shell",
}
# Lines that belong to a multi-line step already handled (the input step's arguments) or to the structure.
STRUCTURE = re.compile(
    r"^\s*(\}|\)|\{|//|$|pipeline|agent|options|parameters|environment|stages|steps|post|def gantry|if \(output|return|"
    r"sh\(script|sh \"gantry|timestamps|timeout\(time: 3|buildDiscarder|disableConcurrentBuilds|skipDefaultCheckout|"
    r"string\(|GANTRY_RUN_ID|description:|defaultValue:|message:|Image digest|Staging smoke|Sign on|and paste|ok:|"
    r"submitter|parameters:|id: 'ProductionApproval'|env\.GANTRY_LAST_STAGE|\}\s*else)"
)


@dataclass
class Step:
    stage: str
    kind: str  # gantry, shell, input, write-approval
    args: str = ""
    var: str | None = None


@dataclass
class Pipeline:
    stages: list[tuple[str, list[Step]]] = field(default_factory=list)
    post: dict[str, list[Step]] = field(default_factory=dict)

    def commands(self) -> list[str]:
        return [f"gantry {s.args}" for _, steps in self.stages for s in steps if s.kind == "gantry"]


def parse(jenkinsfile: Path) -> Pipeline:
    pipeline = Pipeline()
    section: list[Step] | None = None
    in_post, stage = False, ""
    depth_input = 0
    for number, line in enumerate(jenkinsfile.read_text().splitlines(), 1):
        stripped = line.strip()
        if depth_input:  # inside the input step's arguments
            depth_input += stripped.count("(") - stripped.count(")")
            continue
        if stripped.startswith("post {"):
            in_post = True
            continue
        if in_post and (match := POST.match(line)):
            section = pipeline.post.setdefault(match["name"], [])
            stage = f"post {match['name']}"
            continue
        if not in_post and (match := STAGE.match(line)):
            stage = match["name"]
            section = []
            pipeline.stages.append((stage, section))
            continue
        if match := GANTRY.search(line):
            if section is None:
                raise AssertionError(f"Jenkinsfile:{number}: gantry call outside any stage: {stripped}")
            section.append(Step(stage, "gantry", match["args"], match["var"]))
            continue
        known = next((kind for prefix, kind in KNOWN.items() if stripped.startswith(prefix)), None)
        if known is not None:
            if known and section is not None:
                section.append(Step(stage, known, stripped))
            if known == "input":
                depth_input = stripped.count("(") - stripped.count(")")
            continue
        if STRUCTURE.match(line):
            continue
        raise AssertionError(f"Jenkinsfile:{number}: a step this test does not model: {stripped!r}: teach it")
    return pipeline


@dataclass
class Agent:
    """A fresh agent's workspace: the clone, the environment Jenkins gives every step, the approver's answer."""

    workspace: Path
    env: dict[str, str]
    answer: Callable[[dict[str, str]], tuple[str, str]]  # env -> (APPROVER, SIGNED_APPROVAL)
    log: list[str] = field(default_factory=list)

    def sh(self, command: str) -> str:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=self.workspace,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        self.log.append(f"$ {command} -> {result.returncode}\n{result.stderr[-2000:]}")
        if result.returncode != 0:
            raise StepFailed(command, result.stderr)
        return result.stdout.strip()

    def step(self, step: Step) -> None:
        self.env["STAGE_NAME"] = step.stage
        if step.kind == "gantry":
            self.env["GANTRY_LAST_STAGE"] = step.stage
            output = self.sh(f"gantry {step.args}")
            if step.var:
                self.env[step.var] = output
        elif step.kind == "input":
            self.env["APPROVER"], self.env["SIGNED_APPROVAL"] = self.answer(self.env)
        elif step.kind == "write-approval":
            (self.workspace / "approval.json").write_text(self.env.get("SIGNED_APPROVAL", ""))
        elif step.kind == "shell":
            self.sh(step.args.removeprefix("sh '").removesuffix("'"))


def signing_approver(
    workspace: Path, approver: str, signer: list[str], gantry: str = "gantry"
) -> Callable[[dict[str, str]], tuple[str, str]]:
    """The approver's answer to the input step: `approver` (whom Jenkins authenticated, and one of the
    submitters the pipeline got from `gantry approvers`) signs the statement for the staged digest on their
    own machine (`signer`: --approver/--key) and pastes it."""

    def answer(step_env: dict[str, str]) -> tuple[str, str]:
        assert approver in step_env["APPROVERS"].split(","), step_env["APPROVERS"]
        signed = subprocess.run(
            [gantry, "approve", "--env", "production", "--digest", step_env["DIGEST"], *signer, "--print", "--yes"],
            cwd=workspace,
            env=step_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return approver, signed

    return answer


class StepFailed(Exception):
    def __init__(self, command: str, stderr: str) -> None:
        super().__init__(f"{command} failed: {stderr.strip()[-1500:]}")
        self.command = command


def run(pipeline: Pipeline, agent: Agent) -> str:
    """The build's result, running post conditions as Jenkins does."""
    result = "SUCCESS"
    try:
        for _, steps in pipeline.stages:
            for step in steps:
                agent.step(step)
    except StepFailed:
        result = "FAILURE"
    for condition in ("success" if result == "SUCCESS" else "failure", "cleanup"):
        for step in pipeline.post.get(condition, []):
            try:
                agent.step(step)
            except StepFailed:
                if condition != "cleanup":
                    result = "FAILURE"
    return result
