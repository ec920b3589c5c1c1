"""Subcommands of the `gas` CLI, one module each (see gas/cli.py)."""
