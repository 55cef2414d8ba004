"""Errors a user can act on.

Every failure that reaches the CLI is a GantryError whose message is one line that says what went wrong
and how to fix it; the CLI prints it and exits non-zero (see cli.main).
"""


class GantryError(Exception):
    """A failure with a one-line, actionable message."""

    exit_code = 1


class ConfigError(GantryError):
    """The configuration file is missing, malformed or inconsistent."""

    exit_code = 2


class EngineError(GantryError):
    """The container engine cannot be reached or refused an operation."""


class DeployError(GantryError):
    """A deployment failed; the message says which regions were restored."""


class ApprovalError(GantryError):
    """Production was asked for without a valid approval, or an approval was refused."""
