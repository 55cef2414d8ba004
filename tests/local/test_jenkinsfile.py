"""The Jenkinsfile's own gantry commands, read from the Jenkinsfile (tests/support/jenkinsfile.py), run in its
order on fresh agents against the local target: a build agent's new clone, then a release agent's own clone of
the protected branch, the environment Jenkins gives every step. The local target has one machine and one user
(docs/threat-model.md), so both agents share its run directory; the separation of the agents' identities is
what tests/aws/test_e2e.py proves. What Jenkins itself does (the input step, locks, checkout) is simulated and
said so there; the approver's answer is a statement alice signs with her own key, as she would on her machine.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jenkinsfile
import pytest
import requests
from local_stack import ALICE, ROOT, Stack

pytestmark = pytest.mark.integration
PORT_BASE = 28000


def test_the_jenkinsfile_steps_on_the_local_target(stack: Stack, tmp_path: Path) -> None:
    signing = jenkinsfile.signing_approver(stack.repo, ALICE, stack.signer(ALICE))
    path = f"{ROOT / '.venv' / 'bin'}:{stack.env['PATH']}"

    def approver(step_env: dict[str, str]) -> tuple[str, str]:
        # alice signs in her own checkout of the protected branch, with her own key.
        return signing({**stack.env, "GANTRY_CONFIG": str(stack.config), "PATH": path, **step_env})

    agents = {}
    for label in ("gantry-build", "gantry-release"):
        workspace = tmp_path / label
        # Jenkins' checkout of the job's branch, with that branch under its own name (JJB's local-branch).
        subprocess.run(["git", "clone", "-q", "-b", "main", str(stack.repo), str(workspace)], check=True)
        # The approvers' list the stack keeps untracked in its checkout (tests/local/local_stack.py), as a
        # customer's repository tracks it.
        (workspace / ".git/info/exclude").write_text("/test_allowed_signers\n")
        (workspace / "test_allowed_signers").write_bytes((stack.repo / "test_allowed_signers").read_bytes())
        env = {**stack.env, "GANTRY_ROOT": str(workspace), "GANTRY_HOME": str(stack.home)}
        env.update(
            GANTRY_CONFIG=str(stack.config),
            BUILD_TAG="jenkins-example-cart-pipeline-3",
            BUILD_URL="http://127.0.0.1:9/job/3/",
            GANTRY_RUN_ID="jenkins-example-cart-pipeline-3",
            PATH=path,
        )
        agents[label] = jenkinsfile.Agent(workspace, env, approver)
    pipeline = jenkinsfile.parse(ROOT / "Jenkinsfile")
    build = jenkinsfile.Build(agents, {"BUILD_URL": "http://127.0.0.1:9/job/3/"})
    result = jenkinsfile.run(pipeline, build)
    log = [line for agent in agents.values() for line in agent.log]
    assert result == "SUCCESS", "\n".join(log[-6:])
    # Production ran on the release agent's workspace only, every build step on the build agent's.
    assert {
        agent
        for stage, agent, command in build.ran
        if "--env production" in command and "approvers" not in command and "change" not in command
    } == {"gantry-release"}
    record = json.loads((agents["gantry-build"].workspace / "run-record.json").read_text())
    assert record["run_id"] == "jenkins-example-cart-pipeline-3" and record["result"] == "success"
    assert record["approval"]["approver"] == ALICE
    assert [n["status"] for n in stack.notifications() if n.get("run_id") == record["run_id"]] == ["success"]
    stages = [s["name"] for s in record["stages"]]
    production = [i for i, name in enumerate(stages) if name.startswith("deploy production")]
    assert len(production) == 2 and stages.index("approve") < production[0], stages
    for port in (stack.ports["staging"], *stack.ports["production"], stack.ports["global"]):
        assert requests.get(f"http://127.0.0.1:{port}/version", timeout=5).json()["digest"] == record["digest"]
