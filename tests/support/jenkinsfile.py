"""The Jenkinsfile's own steps, read from the Jenkinsfile and run as fresh Jenkins agents would run them.

Every step the pipeline takes is a `gantry(...)` call or a known Jenkins step; this reads them in order, per
stage, with the agent label each stage runs on (`agent { label '...' }`, `node('...')` in post) and the
credentials bound around it, and runs the gantry commands through bash (so `$VARS` expand as in `sh`) on the
agent of that label. Any other step is an error here: a new kind of step in the Jenkinsfile must be taught to
this runner, so the test and the pipeline cannot drift apart silently. What Jenkins itself does (input,
checkout, locks, milestones, credentials bindings) is simulated and said so: the approver's answer is supplied
by the test, and each agent's environment stands for the credentials its label would bind.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GANTRY = re.compile(r"""(?:env\.(?P<var>[A-Z_]+)\s*=\s*)?gantry\('(?P<args>[^']*)'(?P<out>,\s*true)?\)""")
STAGE = re.compile(r"""^\s*stage\('(?P<name>[^']+)'\)\s*\{""")
AGENT = re.compile(r"""^\s*agent \{ label '(?P<label>[^']+)' \}""")
NODE = re.compile(r"""^\s*node\('(?P<label>[^']+)'\)\s*\{""")
POST = re.compile(r"^\s*(?P<name>success|failure|aborted|cleanup|unsuccessful)\s*\{")
CREDENTIALS = re.compile(r"""withCredentials\(\[file\(credentialsId: "\$\{params\.CUSTOMER\}-(?P<id>[a-z-]+)\"""")
# Jenkins steps this runner knows and what it does with them ("" = nothing to do on a fresh agent).
KNOWN = {
    "checkout(scm)": "checkout",
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
    "env.SIGNED_APPROVAL = answer.SIGNED_APPROVAL": "",
    "env.GANTRY_LAST_STAGE = env.STAGE_NAME": "",
    "writeFile(file: 'approval.json'": "write-approval",
    "sh 'gantry run show > run-record.json": "shell",
    "sh 'gantry rollback --env production --changed-by-run'": "shell",
    "withCredentials(": "",
}
# The pipeline's environment block: NAME = 'literal' (GANTRY_RUN_ID, interpolated, is the test's to give).
LITERAL_ENV = re.compile(r"^\s*(?P<name>[A-Z_]+) = '(?P<value>[^']*)'\s*$")
# Lines that belong to a multi-line step already handled (the input step's arguments) or to the structure.
STRUCTURE = re.compile(
    r"^\s*(\}|\)|\{|//|$|pipeline|agent none|options|parameters|environment|stages|steps|post \{|def gantry|"
    r"if \(output|return|sh\(script|sh \"gantry|timestamps|timeout\(time: 3|buildDiscarder|disableConcurrentBuilds|"
    r"skipDefaultCheckout|string\(|choice\(|description:|GANTRY_RUN_ID|defaultValue:|message:|Commit:|Image digest|"
    r"Configuration:|\$\{env\.CHANGE_SUMMARY\}|Staging smoke|Sign on|gantry approve --env production --digest|"
    r"and paste|ok:|submitter|parameters:|id: 'ProductionApproval'|env\.GANTRY_LAST_STAGE =|\}\s*else)"
)


@dataclass
class Step:
    stage: str
    kind: str  # gantry, shell, input, write-approval, checkout
    args: str = ""
    var: str | None = None
    agent: str | None = None  # the agent label the step runs on (None: no agent, e.g. the input)
    credentials: str | None = None  # the credentials bound around it (gantry-build, gantry-release)


@dataclass
class Pipeline:
    stages: list[tuple[str, list[Step]]] = field(default_factory=list)
    post: dict[str, list[Step]] = field(default_factory=dict)
    stage_post: dict[str, dict[str, list[Step]]] = field(default_factory=dict)  # stage -> condition -> steps
    parents: dict[str, str] = field(default_factory=dict)  # leaf stage -> the stage whose post covers it
    environment: dict[str, str] = field(default_factory=dict)  # the pipeline's literal environment entries

    def commands(self) -> list[str]:
        return [f"gantry {s.args}" for _, steps in self.stages for s in steps if s.kind == "gantry"]

    def steps(self) -> list[Step]:
        return [s for _, steps in self.stages for s in steps]


def parse(jenkinsfile: Path) -> Pipeline:  # noqa: PLR0912 (one branch per kind of line, read in order)
    pipeline = Pipeline()
    depth = 0
    # (depth it opened at, kind, name, agent): stage, post, post condition, node, credentials
    frames: list[tuple[int, str, str, str | None]] = []
    section: list[Step] | None = None
    depth_input = 0

    def agent() -> str | None:
        return next((label for _, _, _, label in reversed(frames) if label), None)

    def credentials() -> str | None:
        return next((name for _, kind, name, _ in reversed(frames) if kind == "credentials"), None)

    def stage_name() -> str:
        return next((name for _, kind, name, _ in reversed(frames) if kind == "stage"), "")

    for number, line in enumerate(jenkinsfile.read_text().splitlines(), 1):
        stripped = line.strip()
        opened, closed = line.count("{") - line.count("${"), line.count("}") - line.count("${")
        if depth_input:  # inside the input step's arguments
            depth_input += stripped.count("(") - stripped.count(")")
            continue
        if match := STAGE.match(line):
            frames.append((depth, "stage", match["name"], None))
            section = []
            pipeline.stages.append((match["name"], section))
            parent = next((name for _, kind, name, _ in reversed(frames[:-1]) if kind == "stage"), None)
            if parent:
                pipeline.parents[match["name"]] = parent
        elif match := AGENT.match(line):
            kind, name, _ = frames[-1][1], frames[-1][2], frames[-1][3]
            frames[-1] = (frames[-1][0], kind, name, match["label"])
        elif stripped.startswith("post {"):
            owner = stage_name() if frames else ""
            frames.append((depth, "post", owner, None))
        elif frames and frames[-1][1] == "post" and (match := POST.match(line)):
            owner = frames[-1][2]
            target = pipeline.stage_post.setdefault(owner, {}) if owner else pipeline.post
            section = target.setdefault(match["name"], [])
            frames.append((depth, "condition", f"post {match['name']}", None))
        elif match := NODE.match(line):
            frames.append((depth, "node", match["label"], match["label"]))
        elif match := CREDENTIALS.search(line):
            frames.append((depth, "credentials", match["id"], None))
        elif (match := LITERAL_ENV.match(line)) and not frames:
            pipeline.environment[match["name"]] = match["value"]
        elif match := GANTRY.search(line):
            if section is None:
                raise AssertionError(f"Jenkinsfile:{number}: gantry call outside any stage: {stripped}")
            section.append(Step(stage_name(), "gantry", match["args"], match["var"], agent(), credentials()))
        else:
            known = next((kind for prefix, kind in KNOWN.items() if stripped.startswith(prefix)), None)
            if known is not None:
                if known and section is not None:
                    section.append(Step(stage_name(), known, stripped, None, agent(), credentials()))
                if known == "input":
                    depth_input = stripped.count("(") - stripped.count(")")
            elif not STRUCTURE.match(line):
                raise AssertionError(f"Jenkinsfile:{number}: a step this test does not model: {stripped!r}: teach it")
        depth += opened - closed
        while frames and depth <= frames[-1][0]:
            frames.pop()
    return pipeline


@dataclass
class Agent:
    """A fresh agent's workspace: the clone, the environment Jenkins gives every step (its credentials among
    them), the approver's answer."""

    workspace: Path
    env: dict[str, str]
    answer: Callable[[dict[str, str]], tuple[str, str]]  # env -> (APPROVER, SIGNED_APPROVAL)
    log: list[str] = field(default_factory=list)
    checkout: Callable[[Path], None] | None = None  # what `checkout(scm)` does here (None: the workspace is ready)

    def sh(self, command: str, env: dict[str, str]) -> str:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        self.log.append(f"$ {command} -> {result.returncode}\n{result.stderr[-2000:]}")
        if result.returncode != 0:
            raise StepFailed(command, result.stderr)
        return result.stdout.strip()


class Build:
    """One build: the environment Jenkins carries from stage to stage (env.X assignments), the agents by label."""

    def __init__(self, agents: dict[str, Agent], env: dict[str, str]) -> None:
        self.agents, self.env = agents, dict(env)
        self.ran: list[tuple[str, str | None, str]] = []  # (stage, agent label, command)

    def step(self, step: Step) -> None:
        self.env["STAGE_NAME"] = step.stage
        if step.kind == "input":
            self.env["APPROVER"], self.env["SIGNED_APPROVAL"] = next(iter(self.agents.values())).answer(self.env)
            return
        if step.agent is None:
            raise AssertionError(f"{step.kind} {step.args!r} in {step.stage} runs on no agent")
        agent = self.agents[step.agent]
        # The agent's own environment (its workspace, run directory and credentials) and what the build carries.
        env = {**agent.env, **{k: v for k, v in self.env.items() if k not in agent.env}}
        if step.kind == "gantry":
            self.env["GANTRY_LAST_STAGE"] = step.stage
            env["GANTRY_LAST_STAGE"] = step.stage
            self.ran.append((step.stage, step.agent, f"gantry {step.args}"))
            output = agent.sh(f"gantry {step.args}", env)
            if step.var:
                self.env[step.var] = output
        elif step.kind == "write-approval":
            (agent.workspace / "approval.json").write_text(self.env.get("SIGNED_APPROVAL", ""))
        elif step.kind == "checkout":
            if agent.checkout is not None:
                agent.checkout(agent.workspace)
        elif step.kind == "shell":
            command = step.args.removeprefix("sh '").removesuffix("'")
            self.ran.append((step.stage, step.agent, command))
            agent.sh(command, env)


def signing_approver(
    workspace: Path, approver: str, signer: list[str], gantry: str = "gantry"
) -> Callable[[dict[str, str]], tuple[str, str]]:
    """The approver's answer to the input step: `approver` (whom Jenkins authenticated, and one of the
    submitters the pipeline got from `gantry approvers`) signs the statement for the staged digest on their
    own machine (`signer`: --approver/--key) and pastes it."""

    def answer(step_env: dict[str, str]) -> tuple[str, str]:
        assert approver in step_env["APPROVERS"].split(","), step_env["APPROVERS"]
        done = subprocess.run(
            [gantry, "approve", "--env", "production", "--digest", step_env["DIGEST"], *signer, "--print", "--yes"],
            cwd=workspace,
            env=step_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"the approver could not sign: {done.stderr[-2000:]}"
        return approver, done.stdout.strip()

    return answer


class StepFailed(Exception):
    def __init__(self, command: str, stderr: str) -> None:
        super().__init__(f"{command} failed: {stderr.strip()[-1500:]}")
        self.command = command


def run(pipeline: Pipeline, build: Build) -> str:
    """The build's result, running stage-level and pipeline-level post conditions as Jenkins does."""
    result = "SUCCESS"
    failed_stage = None
    build.env.update(pipeline.environment)
    try:
        for name, steps in pipeline.stages:
            for step in steps:
                failed_stage = name
                build.step(step)
    except StepFailed:
        result = "FAILURE"
    if result == "FAILURE" and failed_stage is not None:
        owners = [failed_stage]
        while owners[-1] in pipeline.parents:
            owners.append(pipeline.parents[owners[-1]])
        for owner in owners:  # a failed stage's own post, then its enclosing stages'
            for step in pipeline.stage_post.get(owner, {}).get("unsuccessful", []):
                with contextlib.suppress(StepFailed):  # the failure handler's own failure is in the log
                    build.step(step)
    for condition in ("success" if result == "SUCCESS" else "failure", "cleanup"):
        for step in pipeline.post.get(condition, []):
            try:
                build.step(step)
            except StepFailed:
                if condition != "cleanup":
                    result = "FAILURE"
    return result
