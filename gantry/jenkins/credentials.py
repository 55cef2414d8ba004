"""Jenkins credentials: from the environment or a private config file, never from command-line arguments.

Arguments end up in shell history and in `ps` output, so the CLI has no option for the token at all.
Lookup, per value: JENKINS_URL / JENKINS_USER / JENKINS_API_TOKEN, then the YAML file named by
GANTRY_JENKINS_CONFIG (default ~/.config/gantry/jenkins.yaml) with keys url, user, api_token. The file must
not be readable by group or others (chmod 600), as with ssh keys.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from gantry.errors import ConfigError

DEFAULT_CONFIG = "~/.config/gantry/jenkins.yaml"
ENV_KEYS = {"url": "JENKINS_URL", "user": "JENKINS_USER", "api_token": "JENKINS_API_TOKEN"}


@dataclass(frozen=True)
class JenkinsCredentials:
    url: str
    user: str
    # repr=False: a credentials object that ends up in a log or traceback never shows the token.
    api_token: str = field(repr=False)


def config_path(env: Mapping[str, str]) -> Path:
    return Path(env.get("GANTRY_JENKINS_CONFIG") or DEFAULT_CONFIG).expanduser()


def _read_private_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} holds a Jenkins token but is readable by others: run chmod 600 {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML ({exc.__class__.__name__}): fix the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping with keys url, user, api_token")
    unknown = sorted(set(data) - set(ENV_KEYS))
    if unknown:
        raise ConfigError(f"{path} has unknown keys {unknown}: use only url, user, api_token")
    return {key: str(value) for key, value in data.items() if value is not None}


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"JENKINS_URL '{url}' is not an http(s) URL: set it to e.g. https://jenkins.example.com/")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        # Basic auth over plain HTTP would expose the API token on the network.
        raise ConfigError(f"JENKINS_URL '{url}' uses plain http to a remote host: use https")
    return url.rstrip("/") + "/"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_credentials(env: Mapping[str, str] | None = None) -> JenkinsCredentials:
    """Credentials from the environment, falling back to the config file value by value."""
    env = os.environ if env is None else env
    path = config_path(env)
    from_file = _read_private_file(path)
    values = {key: env.get(var) or from_file.get(key, "") for key, var in ENV_KEYS.items()}
    missing = [ENV_KEYS[key] for key, value in values.items() if not value]
    if missing:
        raise ConfigError(
            f"missing Jenkins credentials {', '.join(missing)}: export them or write url/user/api_token to "
            f"{path} (chmod 600)"
        )
    return JenkinsCredentials(url=_check_url(values["url"]), user=values["user"], api_token=values["api_token"])
