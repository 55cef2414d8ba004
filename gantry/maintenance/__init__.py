"""Maintenance playbook runs on protected environments: `gantry maintenance approve|check` (see cli.py)."""
