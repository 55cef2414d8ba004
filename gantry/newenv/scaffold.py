"""Validate a new-environment request against the repository, then write its roots in one step."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gantry.errors import ConfigError
from gantry.newenv import cidrs, naming
from gantry.newenv.inventory import Customer, allocations, load_customer
from gantry.newenv.render import EnvironmentSpec, customer_files, environment_files
from gantry.newenv.writer import create_tree

PRODUCTION_NAMES = frozenset({"prod", "production", "prd"})
# Where `gantry bake --target ami` publishes the AMI ID per region (gantry/bake/publish.py).
DEFAULT_AMI_PARAMETER = "/gantry/{customer}/golden-ami/ecs-host/latest"
DEFAULT_LOCK_TABLE = "gantry-terraform-locks"


@dataclass(frozen=True)
class Request:
    customer: str
    environment: str
    primary: str
    secondary: str
    cidr: str
    secondary_cidr: str | None = None
    domain: str | None = None
    service: str | None = None
    production: bool | None = None
    ami_parameter: str | None = None
    state_bucket: str | None = None


@dataclass(frozen=True)
class Result:
    root: Path
    created: list[Path]
    new_customer: bool
    spec: EnvironmentSpec


def _same(flag: str, given: str | None, existing: str, customer: str) -> None:
    if given is not None and given != existing:
        raise ConfigError(f"customer '{customer}' already uses {flag} {existing}: drop {flag} or pass {existing}")


def _customer(request: Request, existing: Customer | None) -> Customer:
    if existing is not None:
        # One customer = one account and one region pair: global resources (ECR replication, CloudTrail,
        # CodeCommit mirror) are shared by all of its environments.
        _same("--primary", request.primary, existing.primary_region, existing.name)
        _same("--secondary", request.secondary, existing.secondary_region, existing.name)
        _same("--domain", request.domain, existing.domain, existing.name)
        _same("--service", request.service, existing.service_name, existing.name)
        _same("--ami-parameter", request.ami_parameter, existing.ami_ssm_parameter, existing.name)
        _same("--state-bucket", request.state_bucket, existing.state_bucket, existing.name)
        return existing
    if request.service is None:
        raise ConfigError(f"'{request.customer}' is a new customer: name the service it ships, e.g. --service api")
    if request.ami_parameter is not None:
        naming.check_ssm_path(request.ami_parameter)
    if request.state_bucket is not None:
        naming.check_bucket(request.state_bucket)
    return Customer(
        name=request.customer,
        primary_region=request.primary,
        secondary_region=request.secondary,
        domain=naming.check_domain(request.domain or f"{request.customer}.example.com"),
        service_name=naming.check_service(request.service),
        ami_ssm_parameter=request.ami_parameter or DEFAULT_AMI_PARAMETER.format(customer=request.customer),
        state_bucket=request.state_bucket or f"gantry-tfstate-{request.customer}-{request.primary}",
        lock_table=DEFAULT_LOCK_TABLE,
    )


def scaffold(terraform_dir: Path, request: Request) -> Result:
    """Check every rule first; only then write, all at once. Raises ConfigError naming the fix."""
    naming.check_customer(request.customer)
    naming.check_environment(request.environment)
    naming.check_regions(request.primary, request.secondary)
    live = terraform_dir / "live"
    customer_dir = live / request.customer
    env_dir = customer_dir / request.environment
    if env_dir.exists():
        raise ConfigError(f"{env_dir} already exists: choose another environment name (nothing was written)")
    existing = load_customer(customer_dir)
    if customer_dir.exists() and existing is None:
        raise ConfigError(f"{customer_dir} exists without customer.json: restore it or remove the directory")
    customer = _customer(request, existing)
    primary, secondary = cidrs.plan(request.cidr, request.secondary_cidr, allocations(live))
    production = request.production
    if production is None:
        production = request.environment in PRODUCTION_NAMES
    spec = EnvironmentSpec(customer, request.environment, primary, secondary, production)
    files = environment_files(spec)
    if existing is None:
        nested = {f"{request.environment}/{name}": text for name, text in files.items()}
        created = create_tree(customer_dir, customer_files(customer) | nested)
    else:
        created = create_tree(env_dir, files)
    return Result(env_dir, created, existing is None, spec)


def next_steps(result: Result, repo_root: Path) -> list[str]:
    spec = result.spec
    customer = spec.customer
    env_root = result.root.relative_to(repo_root)
    steps = []
    if result.new_customer:
        steps.append(
            "create the state bucket once for this account: terraform -chdir=terraform/bootstrap init && "
            f"terraform -chdir=terraform/bootstrap apply -var region={customer.primary_region} "
            f"-var bucket_name={customer.state_bucket} -var lock_table_name={customer.lock_table}"
        )
    steps += [
        f"apply the account-wide root (deploy role for '{spec.environment}', ECR, DNS, CloudTrail): "
        "terraform -chdir=terraform/global init -reconfigure "
        f"-backend-config=../live/{customer.name}/global.backend.hcl && "
        f"terraform -chdir=terraform/global apply -var customer={customer.name}"
        " -var 'jenkins_agent_principal_arns=[\"<agent role ARN>\"]'",
        f"push the first image with tag 'bootstrap' to {customer.name}/{customer.service_name} "
        f"in {customer.primary_region} (replication copies it to {customer.secondary_region})",
        f"create the environment: terraform -chdir={env_root} init -backend-config=backend.hcl && "
        f"terraform -chdir={env_root} apply",
        f"add environments/{customer.name}/{spec.environment}.yaml (target: aws) for the pipeline",
        "check it: scripts/lint-terraform.sh && .venv/bin/pytest tests/terraform",
    ]
    return steps
