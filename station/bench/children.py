"""The environment of a ``station`` child process the bench starts: the same code as the bench's own.

A child started as ``python -m station`` in a scratch directory finds
``station`` and ``web`` where the interpreter's installation says: with an
editable install that is the checkout it was installed from, not
necessarily the one the bench runs from (a second worktree sharing the
environment). Its figures would then be another checkout's. The directory
the bench's own packages come from goes first on the child's
``PYTHONPATH``, so the server measured is the code being measured.
"""
from __future__ import annotations

import os
from pathlib import Path

import station

#: The directory holding the ``station`` (and ``web``) packages this process runs.
SOURCE_ROOT = str(Path(station.__file__).resolve().parent.parent)


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a ``station`` child: no database or configuration of its own (the child
    is given its configuration), this checkout's packages first, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("STATION_DATABASE_URL", "STATION_CONFIG")}
    paths = [SOURCE_ROOT, *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != SOURCE_ROOT)]
    return {**env, "PYTHONPATH": os.pathsep.join(paths), **extra}
