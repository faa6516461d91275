"""Ruff over the whole tree with the rules of pyproject.toml ([tool.ruff]): lint runs with the suite, so CI holds it."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    """Guards against lint creeping back: long lines, unsorted imports, zip without strict, late-bound loop
    variables, functions over complexity 12 (E, F, B, UP, SIM, C901, I; the migrations excluded)."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert ruff is not None, "ruff is not installed (the test extra installs it)"
    done = subprocess.run([ruff, "check", ".", "--output-format", "concise", "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"ruff check . found:\n{done.stdout}{done.stderr}", pytrace=False)
