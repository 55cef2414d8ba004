"""`gantry new-env`: one command from nothing to a reviewed-ready pair of regional stacks."""

from __future__ import annotations

import click

from gantry.newenv.scaffold import Request, next_steps, scaffold
from gantry.paths import project_root


@click.command("new-env")
@click.option("--customer", required=True, help="Customer name, 2-12 lowercase characters (e.g. acme).")
@click.option("--env", "environment", required=True, help="Environment name, e.g. prod or test.")
@click.option("--primary", required=True, help="Primary AWS region, e.g. us-east-1.")
@click.option("--secondary", required=True, help="Secondary (DR) AWS region, e.g. eu-west-1.")
@click.option("--cidr", required=True, help="Primary VPC range, private /16-/24, e.g. 10.40.0.0/16.")
@click.option("--secondary-cidr", default=None, help="Secondary VPC range [default: the block after --cidr].")
@click.option("--domain", default=None, help="Customer DNS zone [default: <customer>.example.com].")
@click.option("--service", default=None, help="Service the pipeline deploys (a new customer needs it), e.g. api.")
@click.option("--production/--no-production", default=None, help="Production sizing [default: env is prod].")
@click.option("--ami-parameter", default=None, help="SSM parameter with the golden AMI ID.")
@click.option("--state-bucket", default=None, help="Terraform state bucket of the customer's account.")
def new_env(
    *,
    customer: str,
    environment: str,
    primary: str,
    secondary: str,
    cidr: str,
    secondary_cidr: str | None,
    domain: str | None,
    service: str | None,
    production: bool | None,
    ami_parameter: str | None,
    state_bucket: str | None,
) -> None:
    """Scaffold terraform/live/<customer>/<env> for two regions from the one environment template."""
    repo = project_root()
    request = Request(
        customer=customer,
        environment=environment,
        primary=primary,
        secondary=secondary,
        cidr=cidr,
        secondary_cidr=secondary_cidr,
        domain=domain,
        service=service,
        production=production,
        ami_parameter=ami_parameter,
        state_bucket=state_bucket,
    )
    result = scaffold(repo / "terraform", request)
    spec = result.spec
    click.echo(
        f"created {result.root.relative_to(repo)}: {spec.customer.primary_region} {spec.primary_cidr}, "
        f"{spec.customer.secondary_region} {spec.secondary_cidr}" + (" (production)" if spec.production else "")
    )
    for path in result.created:
        click.echo(f"  {path.relative_to(repo)}")
    click.echo("next steps:")
    for number, step in enumerate(next_steps(result, repo), start=1):
        click.echo(f"  {number}. {step}")
