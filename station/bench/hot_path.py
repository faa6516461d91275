"""Where a scan's time goes, in process: the profile the HTTP run reports beside its figures (issue 22).

Issue 22 asks, where a target is missed, what the time is spent on: the
hot path, SQLAlchemy's share, and the round trips. ``spent`` runs a
receipt's scans as ``served.in_process`` does, under the standard
library's profiler, and sorts each function's own time by whose code it
is (``GROUPS``):

- ``database``: in the database. SQLite's engine runs in this process: the
  ``sqlite3`` module's C methods (its statements, and its commit's writes to
  the WAL and their sync). On PostgreSQL it is psycopg waiting for the
  server's answers: the round trips, the server's work and its commit's
  flush;
- ``driver``: psycopg's own Python (parameters, its pipeline, results);
- ``sqlalchemy``: SQLAlchemy's engine, session and events;
- ``station``: this project's code (reading, deciding, writing, the answer);
- ``python``: the rest, the standard library (json, dataclasses, ...).

``commit_ms`` is the commit's whole time, a part of those groups (on
PostgreSQL the scan's last write goes with it, station.storage.pipelined).
A profiler slows Python code more than the C it calls, so every figure is
ms a scan *under the profiler*, ``profiled_ms`` their sum, to be read as
shares beside the scan's own time without it (``in_process``).
"""
from __future__ import annotations

import cProfile
import pstats
from pathlib import Path

GROUPS = ("database", "driver", "sqlalchemy", "station", "python")
#: The commit, whole: SQLAlchemy's Connection ending its transaction (both databases come through it).
_COMMIT = ("sqlalchemy/engine/base.py", "_commit_impl")
#: psycopg's wait for the server's answer: its time is the database's, not the driver's.
_WAIT = ("psycopg/connection.py", "wait")


def _group(filename: str, name: str, source_root: str) -> str:
    """Whose code a profiled function is (one of ``GROUPS``)."""
    path = filename.replace("\\", "/")
    if path == "~":  # a built-in: its name says whose (e.g. "<method 'execute' of 'sqlite3.Cursor' objects>")
        return "database" if "sqlite3." in name else "python"
    if path.endswith(_WAIT[0]) and name == _WAIT[1]:
        return "database"
    if "/psycopg/" in path or "/psycopg_binary/" in path:
        return "driver"
    if "/sqlalchemy/" in path:
        return "sqlalchemy"
    if path.startswith(source_root + "/"):
        return "station"
    return "python"


def shares(stats: pstats.Stats, scans: int, source_root: str) -> dict[str, float]:
    """A profile's own time per ``GROUPS``, and the commit's whole time, in ms a scan."""
    own = dict.fromkeys(GROUPS, 0.0)
    commit = 0.0
    for (filename, _line, name), (_calls, _primitive, tottime, cumtime, _callers) in stats.stats.items():
        own[_group(filename, name, source_root)] += tottime
        if filename.replace("\\", "/").endswith(_COMMIT[0]) and name == _COMMIT[1]:
            commit += cumtime
    per_scan = {f"{group}_ms": round(seconds / scans * 1000, 3) for group, seconds in own.items()}
    return {"profiled_ms": round(sum(own.values()) / scans * 1000, 3), **per_scan,
            "commit_ms": round(commit / scans * 1000, 3)}


def spent(url: str, config: Path, station: str, *, scans: int) -> dict[str, float]:
    """A receipt of ``scans`` serials through ``ScanService`` under the profiler: ``shares`` of its timed scans."""
    from .children import SOURCE_ROOT
    from .served import scan_receipt

    profiler = cProfile.Profile()
    scan_receipt(url, config, station, scans=scans, run="profiled", profiler=profiler)
    return shares(pstats.Stats(profiler), scans, SOURCE_ROOT)
