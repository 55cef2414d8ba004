"""Where `gantry jenkins` takes its credentials from: the environment or a chmod-600 file, never arguments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gantry.errors import ConfigError
from gantry.jenkins.cli import jenkins
from gantry.jenkins.credentials import load_credentials

TOKEN = "11aa22bb33cc44dd55ee66ff77889900aa"


def write_config(path: Path, mode: int, text: str | None = None) -> Path:
    path.write_text(text or f"url: https://jenkins.example.com\nuser: alice\napi_token: {TOKEN}\n")
    path.chmod(mode)
    return path


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jenkins.yaml", 0o600)
    env = {"GANTRY_JENKINS_CONFIG": str(config), "JENKINS_USER": "bob"}
    creds = load_credentials(env)
    assert (creds.url, creds.user, creds.api_token) == ("https://jenkins.example.com/", "bob", TOKEN)


def test_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jenkins.yaml", 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_credentials({"GANTRY_JENKINS_CONFIG": str(config)})


def test_missing_values_name_the_variables(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JENKINS_USER, JENKINS_API_TOKEN"):
        load_credentials({"GANTRY_JENKINS_CONFIG": str(tmp_path / "none.yaml"), "JENKINS_URL": "https://j.example"})


def test_unknown_keys_in_the_file_are_errors(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jenkins.yaml", 0o600, "url: https://j.example\npasword: x\n")
    with pytest.raises(ConfigError, match="unknown keys"):
        load_credentials({"GANTRY_JENKINS_CONFIG": str(config)})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://jenkins.example.com", "uses plain http to a remote host: use https"),
        ("ftp://jenkins.example.com", "is not an http(s) URL"),
        ("jenkins", "is not an http(s) URL"),
    ],
)
def test_token_is_never_sent_in_clear_to_a_remote_host(url: str, message: str, tmp_path: Path) -> None:
    env = {
        "GANTRY_JENKINS_CONFIG": str(tmp_path / "x"),
        "JENKINS_URL": url,
        "JENKINS_USER": "a",
        "JENKINS_API_TOKEN": TOKEN,
    }
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_credentials(env)


def test_plain_http_is_allowed_to_loopback_only(tmp_path: Path) -> None:
    env = {
        "GANTRY_JENKINS_CONFIG": str(tmp_path / "x"),
        "JENKINS_URL": "http://127.0.0.1:23000",
        "JENKINS_USER": "a",
        "JENKINS_API_TOKEN": TOKEN,
    }
    assert load_credentials(env).url == "http://127.0.0.1:23000/"


def test_repr_hides_the_token(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jenkins.yaml", 0o600)
    assert TOKEN not in repr(load_credentials({"GANTRY_JENKINS_CONFIG": str(config)}))


def test_no_command_accepts_credentials_on_the_command_line() -> None:
    assert set(jenkins.commands) == {"sync", "deploy", "approve", "status"}
    for command in jenkins.commands.values():
        for param in command.params:
            for opt in param.opts:
                assert not any(word in opt for word in ("token", "password", "user", "secret", "url")), opt
