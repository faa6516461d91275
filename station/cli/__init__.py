"""The command line: ``station`` and its subcommands, one module per group (see main.py)."""
