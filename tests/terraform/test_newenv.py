"""`gantry new-env`: validation, refusal to overwrite, all-or-nothing writes, next steps."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from tfhelpers import LIVE, NEW_CUSTOMER

from gantry.errors import ConfigError, GantryError
from gantry.newenv import writer
from gantry.newenv.cli import new_env
from gantry.newenv.render import template_files

ACME = NEW_CUSTOMER


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root holding a copy of the real live roots (the existing environments)."""
    shutil.copytree(LIVE, tmp_path / "terraform" / "live")
    monkeypatch.setenv("GANTRY_ROOT", str(tmp_path))
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(new_env, list(args))


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def config_error(result: Result, *fragments: str) -> str:
    assert isinstance(result.exception, ConfigError), result.output
    message = str(result.exception)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_scaffolds_a_new_customer_and_prints_next_steps(repo: Path) -> None:
    result = run(*ACME, "--cidr", "10.40.0.0/16")
    assert result.exit_code == 0, result.output
    root = repo / "terraform" / "live" / "acme" / "prod"
    for name, text in template_files().items():
        assert (root / name).read_text() == text
    data = json.loads((root / "environment.auto.tfvars.json").read_text())
    assert data == {
        "environment": "prod",
        "primary_cidr": "10.40.0.0/16",
        "secondary_cidr": "10.41.0.0/16",
        "production": True,
        "alarm_emails": [],
    }
    customer = json.loads((root.parent / "customer.json").read_text())
    assert (customer["primary_region"], customer["secondary_region"]) == ("us-east-1", "eu-west-1")
    assert 'key            = "live/acme/prod/terraform.tfstate"' in (root / "backend.hcl").read_text()
    assert "next steps:" in result.output
    for expected in ("terraform/bootstrap", "terraform/global", "-var customer=acme", "terraform/live/acme/prod"):
        assert expected in result.output
    assert not list((repo / "terraform" / "live").glob(".*")), "staging directory left behind"


def test_second_environment_of_a_customer_reuses_its_settings(repo: Path) -> None:
    assert run(*ACME, "--cidr", "10.40.0.0/16").exit_code == 0
    before = (repo / "terraform/live/acme/customer.json").read_text()
    result = run(*ACME[:3], "test", *ACME[4:], "--cidr", "10.50.0.0/16")
    assert result.exit_code == 0, result.output
    assert (repo / "terraform/live/acme/customer.json").read_text() == before
    assert (
        json.loads((repo / "terraform/live/acme/test/environment.auto.tfvars.json").read_text())["production"] is False
    )
    assert "terraform/bootstrap" not in result.output  # the account's state bucket exists already


def test_customer_regions_cannot_change_between_environments(repo: Path) -> None:
    assert run(*ACME, "--cidr", "10.40.0.0/16").exit_code == 0
    result = run(
        "--customer",
        "acme",
        "--env",
        "test",
        "--primary",
        "us-east-1",
        "--secondary",
        "us-west-2",
        "--cidr",
        "10.50.0.0/16",
    )
    config_error(result, "already uses --secondary eu-west-1")
    assert not (repo / "terraform/live/acme/test").exists()


@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    [
        ("--primary", "us-east-9", "not an AWS region"),
        ("--secondary", "EU-WEST-1", "not an AWS region"),
        ("--secondary", "us-east-1", "pick two different regions"),
    ],
)
def test_region_validation(repo: Path, flag: str, value: str, fragment: str) -> None:
    args = dict(zip(ACME[::2], ACME[1::2], strict=True)) | {flag: value}
    result = run(*[x for pair in args.items() for x in pair], "--cidr", "10.40.0.0/16")
    config_error(result, fragment)
    assert not (repo / "terraform/live/acme").exists()


@pytest.mark.parametrize(
    ("customer", "environment", "fragment"),
    [
        ("Acme", "prod", "customer 'Acme' is invalid"),
        ("acme-corporation", "prod", "2-12 lowercase"),
        ("a", "prod", "is invalid"),
        ("acme--x", "prod", "is invalid"),
        ("acme-", "prod", "is invalid"),
        ("9acme", "prod", "is invalid"),
        ("global", "prod", "reserved"),
        ("acme", "prod-eu", "environment 'prod-eu' is invalid"),
        ("acme", "productionx1", "is invalid"),
        ("acme", "../x", "is invalid"),
    ],
)
def test_naming_rules(repo: Path, customer: str, environment: str, fragment: str) -> None:
    before = snapshot(repo)
    result = run("--customer", customer, "--env", environment, *ACME[4:], "--cidr", "10.40.0.0/16")
    config_error(result, fragment)
    assert snapshot(repo) == before  # nothing written
    assert sorted(p.name for p in (repo / "terraform/live").iterdir()) == ["example"]


@pytest.mark.parametrize(
    ("cidr", "secondary", "fragment"),
    [
        ("10.40.0.0/16", "10.40.128.0/17", "overlap: peered regions need disjoint ranges"),
        ("10.40.0.0/16", "10.40.16.0/20", "overlap"),
        ("10.40.1.0/16", None, "host bits set: did you mean 10.40.0.0/16?"),
        ("8.8.0.0/16", None, "not a private"),
        ("10.0.0.0/12", None, "between /16 and /24"),
        ("10.40.0.0/26", None, "between /16 and /24"),
        ("banana", None, "not an IPv4 CIDR"),
        ("10.255.0.0/16", None, "no private block follows"),
    ],
)
def test_cidr_rules_between_regions(repo: Path, cidr: str, secondary: str | None, fragment: str) -> None:
    extra = ["--secondary-cidr", secondary] if secondary else []
    config_error(run(*ACME, "--cidr", cidr, *extra), fragment)
    assert not (repo / "terraform/live/acme").exists()


@pytest.mark.parametrize(
    ("cidr", "secondary", "owner"),
    [
        ("10.20.0.0/16", None, "example/prod"),  # primary clashes with example/prod's primary
        ("10.19.0.0/16", None, "example/prod"),  # derived secondary 10.20/16 clashes
        ("10.60.0.0/16", "10.11.128.0/17", "example/test"),  # explicit secondary inside example/test's
        ("10.0.0.0/16", "10.10.0.0/16", "example/test"),
    ],
)
def test_cidr_overlap_with_existing_environments(repo: Path, cidr: str, secondary: str | None, owner: str) -> None:
    extra = ["--secondary-cidr", secondary] if secondary else []
    message = config_error(run(*ACME, "--cidr", cidr, *extra), f"of {owner}", "choose a free range, e.g. --cidr")
    suggested = message.split("e.g. --cidr ")[1].split()[0]
    assert run(*ACME, "--cidr", suggested).exit_code == 0, f"suggested {suggested} is not free"


def test_hand_written_cidrs_in_hcl_are_found(repo: Path) -> None:
    # A root someone edited by hand, without environment.auto.tfvars.json, still reserves its ranges.
    manual = repo / "terraform/live/legacy/prod"
    manual.mkdir(parents=True)
    (manual / "main.tf").write_text(
        'module "vpc" {\n  source = "x"\n  vpc_cidr = "10.77.0.0/16"\n  name = "10.99.0.0/16"\n}\n'
    )
    (manual / "terraform.tfvars").write_text('peer_cidr_block = "172.20.0.0/16"\n')
    config_error(run(*ACME, "--cidr", "10.77.0.0/16"), "of legacy/prod")
    config_error(run(*ACME, "--cidr", "172.20.0.0/16"), "of legacy/prod")
    assert run(*ACME, "--cidr", "10.98.0.0/16").exit_code == 0  # not a *cidr* attribute: not a range


def test_refuses_to_overwrite_an_existing_environment(repo: Path) -> None:
    before = snapshot(repo)
    result = run(
        "--customer",
        "example",
        "--env",
        "prod",
        "--primary",
        "us-east-1",
        "--secondary",
        "us-west-2",
        "--cidr",
        "10.90.0.0/16",
    )
    config_error(result, "already exists", "nothing was written")
    assert snapshot(repo) == before


def test_refuses_a_customer_directory_without_customer_json(repo: Path) -> None:
    (repo / "terraform/live/acme").mkdir()
    config_error(run(*ACME, "--cidr", "10.40.0.0/16"), "without customer.json")


def test_failure_while_writing_leaves_nothing_behind(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Path.write_text
    calls = {"n": 0}

    def failing_write(self: Path, *args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(28, "No space left on device")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    before = snapshot(repo)
    monkeypatch.setattr(Path, "write_text", failing_write)
    result = run(*ACME, "--cidr", "10.40.0.0/16")
    monkeypatch.setattr(Path, "write_text", original)
    assert isinstance(result.exception, GantryError)
    assert "nothing was written" in str(result.exception) and "No space left" in str(result.exception)
    assert snapshot(repo) == before
    assert not any(p.name.startswith(".") for p in (repo / "terraform/live").rglob("*"))


def test_writer_refuses_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "x"
    target.mkdir()
    with pytest.raises(ConfigError):
        writer.create_tree(target, {"a.tf": ""})
    assert list(target.iterdir()) == []


def test_options_conflicting_with_an_existing_customer(repo: Path) -> None:
    result = run(
        "--customer",
        "example",
        "--env",
        "stage",
        "--primary",
        "us-east-1",
        "--secondary",
        "us-west-2",
        "--cidr",
        "10.90.0.0/16",
        "--domain",
        "other.example.org",
    )
    config_error(result, "already uses --domain")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--domain", "not a domain", "not a DNS name"),
        ("--domain", "acme.example.com\n", "not a DNS name"),
        ("--domain", 'acme.example.com" x = "y', "not a DNS name"),
        ("--ami-parameter", "ami-123", "is not an SSM parameter path"),
        ("--ami-parameter", '/gantry/ami"\nendpoint = "http://evil', "is not an SSM parameter path"),
        ("--ami-parameter", "/gantry/ami\n", "is not an SSM parameter path"),
        ("--state-bucket", 'b"\nendpoint = "http://evil.example', "is not an S3 bucket name"),
        ("--state-bucket", "Upper-Case", "is not an S3 bucket name"),
        ("--state-bucket", "two..dots", "is not an S3 bucket name"),
        ("--state-bucket", "tfstate\n", "is not an S3 bucket name"),
    ],
)
def test_values_written_into_terraform_are_refused_unless_strictly_valid(
    repo: Path, option: str, value: str, message: str
) -> None:
    """Each of these lands in backend.hcl or the root's tfvars: a quote or a newline could inject a setting (an
    `endpoint` sending the state elsewhere). Refused in one line, and nothing is written."""
    before = snapshot(repo)
    config_error(run(*ACME, "--cidr", "10.40.0.0/16", option, value), message, option if option != "--domain" else "")
    assert snapshot(repo) == before


def test_a_good_state_bucket_and_ami_parameter_are_written_as_given(repo: Path) -> None:
    args = ["--state-bucket", "acme-tfstate.prod-1", "--ami-parameter", "/acme/golden_ami.v2"]
    assert run(*ACME, "--cidr", "10.40.0.0/16", *args).exit_code == 0
    backend = (repo / "terraform/live/acme/global.backend.hcl").read_text()
    assert 'bucket         = "acme-tfstate.prod-1"' in backend


def test_a_new_customer_names_its_service(repo: Path) -> None:
    """No service is built in: a new customer's first environment says which service it ships, and a refused
    command writes nothing; a customer's later environments take the one it already has."""
    before = snapshot(repo)
    config_error(run(*ACME[:-2], "--cidr", "10.40.0.0/16"), "'acme' is a new customer", "--service api")
    assert snapshot(repo) == before
    assert run(*ACME, "--cidr", "10.40.0.0/16").exit_code == 0
    assert run(*ACME[:3], "test", *ACME[4:-2], "--cidr", "10.50.0.0/16").exit_code == 0
