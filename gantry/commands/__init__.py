"""The `gantry` subcommands, one module per area; gantry.cli adds them to the command group."""
