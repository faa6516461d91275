"""Subcommands of ``station``, one module per group; each registers itself on ``station.cli.cli``."""
