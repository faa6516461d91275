"""schemathesis against a real `station serve` (SQLite, loopback), from the OpenAPI document it serves (issue 25).

The bar: no 5xx, no answer that breaks the document, no request the
document calls valid refused as malformed (400), none it calls invalid
accepted, 405 and ``Allow`` exactly as the document's paths. Its phases: the
coverage cases (every keyword's edges), fuzzing, and stateful runs along the
document's links (a product created, then its barcode added and scanned; a
serial created, then read, changed, adjusted and scanned).

Bounded so CI stays well inside its limit: a fixed seed, a few examples per
operation and a time budget for the whole run (see FUZZ_* below).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.daemon import DaemonProcess

pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = int(os.environ.get("STATION_FUZZ_EXAMPLES", "10"))
#: Seconds for the whole fuzz: 60% to the coverage cases and fuzzing, the rest to the stateful runs along the links.
#: (On a quiet 2-core machine the coverage cases, about a thousand, take about a minute; on a loaded one the
#: budget ends them first.)
FUZZ_SECONDS = int(os.environ.get("STATION_FUZZ_SECONDS", "100"))
PHASES = {"coverage,fuzzing": FUZZ_SECONDS * 6 // 10, "stateful": FUZZ_SECONDS * 4 // 10}
SEED = os.environ.get("STATION_FUZZ_SEED", "25")
#: A stream never ends: schemathesis would wait on it until its timeout.
NOT_FUZZED = "/api/stations/{station}/events"
# Statuses that are answers, not refusals of a request's form: 404 a record that is not there, 409 a key taken,
# 413 a body over 4 KiB (a size no schema can bound in bytes), 422 the stock rules' no. Never 400.
CONFIG = """\
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "404", "409", "413", "422"]

[checks.negative_data_rejection]
expected-statuses = ["400", "404", "405", "409", "413", "415", "422"]
"""


def _schemathesis() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    if found is None:
        pytest.fail("schemathesis is not installed: make install-test installs the test extra")
    return [found]


def test_schemathesis_finds_nothing(tmp_path, record_property):
    """Guards the contract from outside: generated requests, valid and invalid, and linked sequences against the
    real server, every answer checked against the document the server itself serves."""
    config = tmp_path / "station.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/station.db"\n\n[web]\nhost = "127.0.0.1"\nport = 0\n\n'
                      f'[daemon]\nspool = "{tmp_path}/spool.db"\n\n'
                      '[[stations]]\nid = "default"\nmode = "receive"\n', encoding="utf-8")
    (tmp_path / "schemathesis.toml").write_text(CONFIG, encoding="utf-8")
    server = DaemonProcess(config, tmp_path, command=("serve",))
    runs = []
    try:
        port = int(server.expect(r"Serving on http://127\.0\.0\.1:(\d+)/").group(1))
        for phases, seconds in PHASES.items():
            runs.append(subprocess.run(
                [*_schemathesis(), "--config-file", str(tmp_path / "schemathesis.toml"), "run",
                 f"http://127.0.0.1:{port}/api/openapi.json", "--phases", phases, "--checks", "all",
                 "--workers", "1", "--max-examples", str(FUZZ_EXAMPLES), "--max-time", str(seconds),
                 "--seed", SEED, "--exclude-path", NOT_FUZZED, "--request-timeout", "10",
                 "--output-truncate", "true", "--suppress-health-check", "all", "--warnings", "off"],
                cwd=tmp_path, capture_output=True, text=True, timeout=seconds + 240,
                env={**os.environ, "NO_COLOR": "1"}))
    finally:
        server.terminate(10)
        server.close()
    for phases, run in zip(PHASES, runs, strict=True):
        summary = [line.strip() for line in run.stdout.splitlines() if "generated" in line or " in " in line]
        record_property(f"schemathesis {phases}", " | ".join(summary))
        assert run.returncode == 0, _failures(run.stdout + run.stderr) + "\n--- server ---\n" + server.output[-3000:]
    assert "Scenarios:" in runs[1].stdout and "No tests were run" not in runs[1].stdout, runs[1].stdout


def _failures(output: str) -> str:
    """schemathesis' report without the patterns it quotes (each is kilobytes of character classes)."""
    return "\n".join(line if len(line) < 400 else line[:400] + " ..." for line in output.splitlines())
