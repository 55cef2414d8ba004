"""The options every signing command shares (deploy, maintenance and DR approvals): who signs, with which key,
and whether the statement is stored here, printed for elsewhere or imported from elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from click.decorators import FC

APPROVER_HELP = "Your identity in the target's allowed signers (an e-mail)."


def signer_options(approver_help: str = APPROVER_HELP) -> Callable[[FC], FC]:
    """--approver and --key."""

    def decorate(function: FC) -> FC:
        function = click.option(
            "--key",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Your SSH private key (or its .pub with the key in ssh-agent); never stored.",
        )(function)
        return click.option("--approver", default=None, help=approver_help)(function)

    return decorate


def signing_options(import_help: str) -> Callable[[FC], FC]:
    """--approver, --key, --print and --import (`import_help`: where a signed statement made elsewhere comes from)."""

    def decorate(function: FC) -> FC:
        function = click.option("--import", "import_file", type=click.File("r"), default=None, help=import_help)(
            function
        )
        function = click.option(
            "--print", "print_only", is_flag=True, help="Print the signed approval instead of storing it."
        )(function)
        return signer_options()(function)

    return decorate
