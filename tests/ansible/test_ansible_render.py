"""Templates of the AWS shape (EC2 discovery, all receivers) checked by promtool and amtool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("monitoring")
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible" / "ansible.cfg")}
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            "localhost,",
            "-e",
            f"render_dir={out}",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(Path(__file__).parent / "files" / "render-monitoring-configs.yml"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT / "ansible",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return out


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian packages prometheus / prometheus-alertmanager)")
    return path


def test_rules_pass_promtool(rendered: Path) -> None:
    subprocess.run([tool("promtool"), "check", "rules", str(rendered / "alerts.yml")], check=True)


def test_ec2_discovery_covers_both_regions(rendered: Path) -> None:
    config = yaml.safe_load((rendered / "prometheus.yml").read_text())
    node = next(job for job in config["scrape_configs"] if job["job_name"] == "node")
    assert [sd["region"] for sd in node["ec2_sd_configs"]] == ["us-east-1", "us-west-2"]
    checked = rendered / "prometheus-check.yml"
    config["rule_files"] = [str(rendered / "alerts.yml")]
    checked.write_text(yaml.safe_dump(config))
    subprocess.run([tool("promtool"), "check", "config", str(checked)], check=True)


def test_alertmanager_routes_every_receiver(rendered: Path) -> None:
    text = (rendered / "alertmanager.yml").read_text()
    assert "not-a-real-password" not in text
    assert "hooks.slack.invalid" not in text
    config = yaml.safe_load(text)
    critical = next(r for r in config["receivers"] if r["name"] == "critical")
    assert {"webhook_configs", "email_configs", "slack_configs", "sns_configs"} <= set(critical)
    warning = next(r for r in config["receivers"] if r["name"] == "warning")
    assert set(warning) == {"name", "webhook_configs", "slack_configs"}
    subprocess.run([tool("amtool"), "check-config", str(rendered / "alertmanager.yml")], check=True)
