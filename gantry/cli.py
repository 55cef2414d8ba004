"""The single `gantry` entry point (placeholder while the core lands)."""

import click


@click.group()
def main() -> None:
    """gantry pipeline toolkit."""
