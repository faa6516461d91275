"""``station bench``: its fill is consistent and its JSON has the promised shape (issue 6 item 3).

Timings are never asserted: they depend on the machine. What is checked is
that the fill is what posting would have written (``station check`` passes,
5 movements a serial, a document behind every movement), and that a small
run prints one JSON document on its last line with every key and type the
README and the issue promise.
"""
from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner
from helpers.database import PG_URL, pg_available
from sqlalchemy import func, select

from station.bench import hot_path
from station.bench.fill import Shape, fill
from station.cli.main import cli
from station.domain import location_check, stock
from station.domain.models import Document, DocumentLine, DocumentTally, Location, Movement, ScanLog, SerialNumber

PERCENTILES = ("p50_ms", "p90_ms", "p99_ms", "max_ms")
RUN_KEYS = {"kind": str, "database": str, "serials": int, "stations": int, "scans": int,
            "throughput_per_s": (int, float), "peak_rss_mb": (int, float),
            **{k: (int, float) for k in PERCENTILES}}


def test_fill_is_consistent(db):
    """The bulk fill writes what posting would: stock agrees with movements, and documents back every movement."""
    shape = Shape.for_serials(1000, box=20)
    counts = fill(db.engine, shape)
    with db.Session() as s:
        assert stock.check(s) == []
        assert s.scalar(select(func.count()).select_from(SerialNumber)) == 1000
        assert counts["movement"] == s.scalar(select(func.count()).select_from(Movement)) == 5000
        assert s.scalar(select(func.count()).select_from(SerialNumber).where(SerialNumber.in_stock.is_(True))) == 500
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.document_id.is_(None))) == 0
        # A line on its posted document for every movement, and no line left open.
        assert s.scalar(select(func.count()).select_from(DocumentLine)) == 5000
        assert s.scalar(select(func.count()).select_from(DocumentLine).where(DocumentLine.is_open.is_(True))) == 0
        assert s.scalar(select(func.count()).select_from(Document).where(Document.status != "posted")) == 0
        assert s.scalar(select(func.count()).select_from(ScanLog)) == 200
        sold = s.scalar(select(SerialNumber).where(SerialNumber.serial == shape.serial(2)))
        assert sold.customer_id is not None and not sold.in_stock


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # PostgreSQL's fill runs as a replica: no triggers
def test_a_fill_leaves_the_triggers_as_the_migrations_made_them(db):
    """Guards the SQLite fill that leaves the serial lines' tally trigger (migration 0014) out while it writes the
    posted documents' lines: the trigger is back after it, as it was, and the fill's lines made no tally."""
    def triggers() -> list[tuple[str, str]]:
        with db.engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")]

    before = triggers()
    assert "document_line_tallied" in [name for name, _ in before]
    fill(db.engine, Shape.for_serials(200, box=20))
    assert triggers() == before
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(DocumentLine)) == 1000
        assert s.scalar(select(func.count()).select_from(DocumentTally)) == 0


def test_the_tail_is_told_by_kind_and_by_garbage_collection():
    """The slowest 1% of the scans (at least one), by kind, and how many of them a collection ran in."""
    from station.bench.drive import tail

    spans = [(float(n), n + 0.001, "unknown") for n in range(199)] + [(500.0, 500.5, "finish")]
    spans[7] = (7.0, 7.2, "supplier")
    collections = [("start", 0, 1.0), ("stop", 0, 1.0005), ("start", 2, 7.1), ("stop", 2, 7.15)]
    assert tail(spans, collections) == {"gc_collections": {"0": 1, "1": 0, "2": 1},
                                        "tail": {"scans": 2, "by_kind": {"finish": 1, "supplier": 1},
                                                 "in_a_collection": 1}}


def test_a_fill_is_on_the_disk_before_the_scans(db):
    """Guards the settled fill: on SQLite its WAL is empty (every page checkpointed into the database file,
    which is then synced), so the first checkpoint of the measured scans does not write a gigabyte back; on
    PostgreSQL the same fill is checkpointed by the server (a CHECKPOINT asked for)."""
    from sqlalchemy import text

    before = None
    if db.backend == "postgresql":
        with db.engine.connect() as conn:
            before = conn.execute(text("SELECT checkpoints_req FROM pg_stat_bgwriter")).scalar_one()
    fill(db.engine, Shape.for_serials(200, box=20))
    if db.backend == "sqlite":
        probe = sqlite3.connect(db.engine.url.database)
        try:  # frames in the WAL, and frames copied
            assert probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone() == (0, 0, 0)
        finally:
            probe.close()
    else:
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT checkpoints_req FROM pg_stat_bgwriter")).scalar_one() > before


def test_a_fill_with_locations_spreads_the_stock_over_bins_and_check_agrees(db):
    """``--locations``: aisles under MAIN and their bins, every unit in stock in a bin, each bin holding some, and
    every serial's place and history agree with its movements (station check's location proof)."""
    shape = Shape.for_serials(600, box=10, locations=50)
    fill(db.engine, shape)
    with db.Session() as s:
        assert stock.check(s) == [] and location_check.differences(s) == []
        main = s.scalar(select(Location.id).where(Location.code == "MAIN"))
        aisles = s.scalars(select(Location.id).where(Location.parent_id == main)).all()
        bins = s.scalars(select(Location.id).where(Location.parent_id.in_(aisles))).all()
        assert (len(aisles), len(bins)) == (2, 48)
        held = s.execute(select(SerialNumber.location_id, func.count()).where(SerialNumber.in_stock.is_(True))
                         .group_by(SerialNumber.location_id)).all()
        assert {place for place, _ in held} == set(bins) and sum(n for _, n in held) == 300


def _bench(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["bench", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines, "nothing on stdout"
    return json.loads(lines[-1])


def _spent(database: str, spent: dict) -> None:
    """Where the in-process scans' time went, by whose code (station.bench.hot_path): each group's own time, the
    database's and SQLAlchemy's never nothing, psycopg's only on PostgreSQL, and their sum the profile's total."""
    groups = {f"{group}_ms": spent[f"{group}_ms"] for group in hot_path.GROUPS}
    assert set(spent) == {"profiled_ms", "commit_ms", *groups}
    assert all(ms >= 0 for ms in spent.values())
    assert groups["database_ms"] > 0 and groups["sqlalchemy_ms"] > 0 and groups["station_ms"] > 0
    assert (groups["driver_ms"] > 0) == (database == "postgresql")
    assert sum(groups.values()) == pytest.approx(spent["profiled_ms"], abs=0.01)
    # The commit's whole time is a part of the scan's: in the database, and in SQLAlchemy and the driver around it.
    assert 0 < spent["commit_ms"] < spent["profiled_ms"]


def test_small_run_prints_the_json(tmp_path):
    """A tiny bench run: one JSON document last, with a scan run and a floor run per database and all keys typed."""
    databases = ["--database", f"sqlite:///{tmp_path}/bench.db"]
    if pg_available() is None:
        databases += ["--database", PG_URL]
    out = _bench(*databases, "--serials", "400", "--stations", "2", "--scans", "25", "--history-samples", "10",
                 "--pallet", "60", "--big-posting", "200", "--http", "40", "--daemon", "3",
                 "--hook-stations", "3", "--hook-postings", "2", "--drain", "20", "--count", "300")
    assert set(out) >= {"runs", "skipped", "machine"}
    expected = {"sqlite"} | ({"postgresql"} if pg_available() is None else set())
    assert {(r["database"], r["kind"]) for r in out["runs"]} == (
        {(d, k) for d in expected for k in ("scan", "floor", "integration", "pallet", "count")}
        | {(d, k) for d in expected for k in ("http", "daemon", "drain")})
    for drained in (r for r in out["runs"] if r["kind"] == "drain"):
        assert drained["drain"]["scans"] == 20 and drained["drain"]["failed"] == 0 and drained["drain_per_s"] > 0
        assert drained["drain"]["accepted"] + drained["drain"]["refused"] == 20
    for hooks in (r for r in out["runs"] if r["kind"] == "integration"):
        assert (hooks["stations"], hooks["postings"], hooks["errors"]) == (3, 6, [])
        assert (hooks["webhook"]["delivered"], hooks["webhook"]["missing"]) == (6, 0)
        assert hooks["webhook"]["p50_ms"] <= hooks["webhook"]["p99_ms"] <= hooks["webhook"]["max_ms"]
        for page in ("limit_100", "limit_1000"):
            assert hooks["feed"][page]["events"] >= 6 and hooks["feed"][page]["events_per_s"] > 0
    for pallet in (r for r in out["runs"] if r["kind"] == "pallet"):
        assert pallet["serials"] == 60 and pallet["first_scans"]["count"] == pallet["last_scans"]["count"] == 30
        # The last scan of the receipt issues as many statements as the first (issue 12, item 1).
        _each_scan_costs_what_the_first_did(pallet)
        assert pallet["big_posting"]["lines"] == 200 and pallet["posting_ms"] > 0
    for counted in (r for r in out["runs"] if r["kind"] == "count"):
        _count_run(counted)
    served = [r for r in out["runs"] if r["kind"] in ("http", "daemon")]
    assert {r["scans"] for r in served} == {40, 3}
    assert all(r["p50_ms"] <= r["p99_ms"] for r in served)
    for http in (r for r in served if r["kind"] == "http"):  # on each database
        assert http["floor"]["p50_ms"] > 0
        # The same scans in process, beside them: what HTTP adds to a scan is the difference (issue 22).
        assert http["in_process"]["p50_ms"] <= http["in_process"]["p99_ms"] <= http["in_process"]["max_ms"]
        # CPU per request, the server's (every thread) and the scan's own in process: the figures load hardly moves.
        assert http["server_cpu_ms_per_scan"] >= 0 and http["floor"]["server_cpu_ms_per_request"] >= 0
        assert http["in_process"]["cpu_ms_per_scan"] > 0
        # The receipt's first serial again, each time under a new id: refused, answered and logged.
        refused = http["refused"]
        assert refused["codes"] == ["serial_on_open_document"]
        assert 0 < refused["p50_ms"] <= refused["p99_ms"] <= refused["max_ms"] and refused["p50_vs_floor"] > 0
        _spent(http["database"], http["in_process"]["spent"])
    runs = [r for r in out["runs"] if r["kind"] in ("scan", "floor")]
    for run in runs:
        for key, kind in RUN_KEYS.items():
            assert isinstance(run[key], kind), (key, run)
        assert (run["serials"], run["stations"], run["scans"]) == (400, 2, 25)
        assert run["p50_ms"] <= run["p90_ms"] <= run["p99_ms"] <= run["max_ms"]
    for scan in (r for r in runs if r["kind"] == "scan"):
        assert set(scan["history"]) == {"samples", "p50_ms", "p99_ms"}
        assert scan["accepted"] + scan["refused"] == 50
        assert scan["errors"] == 0, scan.get("first_errors")
        assert (scan["doubles"], scan["differences"], scan["open_twice"]) == (0, 0, 0)
        assert scan["movements"] == 2000
        # The statements a scan issues over the mix, and on PostgreSQL its round trips (issue 22).
        assert scan["statements_per_scan"] > 0
        assert (scan["round_trips_per_scan"] is None) == (scan["database"] == "sqlite")
        # The same counted per kind of scan, each in its own station's thread: together they are the mix's.
        kinds = scan["by_kind"].values()
        assert abs(sum(k["statements"] * k["scans"] for k in kinds) - scan["statements_per_scan"] * 50) < 1
        assert all(k["statements_max"] >= k["statements"] > 0 for k in kinds)
        if scan["database"] == "postgresql":
            assert abs(sum(k["round_trips"] * k["scans"] for k in kinds) - scan["round_trips_per_scan"] * 50) < 1
            assert all(k["round_trips_max"] >= k["round_trips"] > 0 for k in kinds)
        else:
            assert all("round_trips" not in k for k in kinds)
        # What the slowest 1% were, beside the run's garbage collections and SQLite's checkpoints (issue 22).
        assert scan["tail"]["scans"] == sum(scan["tail"]["by_kind"].values()) == 1
        assert set(scan["gc_collections"]) == {"0", "1", "2"}
        assert (scan["wal_checkpoints"] is None) == (scan["database"] == "postgresql")
    assert isinstance(out["machine"]["cpus"], int)


def _each_scan_costs_what_the_first_did(run: dict) -> None:
    """A pallet's or a count's first and last scans: as many statements, and on PostgreSQL as many round trips, no
    more than its statements: its BEGIN and COMMIT ride on its first and last (issue 12 item 1, issue 22; SPEC 6)."""
    assert run["statements_per_scan"]["first"] == run["statements_per_scan"]["last"] > 0
    trips = run["round_trips_per_scan"]
    if run["database"] == "postgresql":
        assert trips["first"] == trips["last"] <= run["statements_per_scan"]["last"]
    else:
        assert trips == {"first": None, "last": None}


def _count_run(counted: dict) -> None:
    """A count of 300 (issue 23): 297 of its own found, 3 from another site and 3 never seen, 3 missing, each unit
    one scan through the scan service, then CMD:FINISH; station check clean after."""
    assert (counted["units"], counted["scans"], counted["lines"], counted["check_differences"]) == (300, 303, 303, 0)
    assert (counted["missing"], counted["moved"], counted["added"]) == (3, 3, 3)
    assert counted["posting_ms"] > 0 and counted["posting_statements"] > 0
    assert counted["first_scans"]["count"] == counted["last_scans"]["count"] == 30
    for scans in (counted["first_scans"], counted["last_scans"]):
        assert scans["p50_ms"] <= scans["p90_ms"] <= scans["p99_ms"] <= scans["max_ms"]
    _each_scan_costs_what_the_first_did(counted)


_SPLIT = ("wall", "client_cpu", "client_cpu_wait", "server_cpu", "server_cpu_wait", "gc", "other")


def test_processes_run_prints_the_json(tmp_path):
    """Guards `station bench --processes N` (issue 22): stations as separate processes, each its own connection;
    throughput at saturation and latency at the paced load reported per database, and station check clean after
    (no double, no difference). Figures are reported, never judged."""
    databases = ["--database", f"sqlite:///{tmp_path}/procs.db"]
    if pg_available() is None:
        databases += ["--database", PG_URL]
    out = _bench("--processes", "2", *databases, "--serials", "400", "--scans", "15", "--paced-seconds", "1")
    expected = {"sqlite"} | ({"postgresql"} if pg_available() is None else set())
    assert {r["database"] for r in out["runs"]} == expected
    for run in out["runs"]:
        assert (run["kind"], run["processes"], run["scans"], run["rate_per_station"]) == ("processes", 2, 15, 2.0)
        assert run["errors"] == 0, run.get("first_errors")
        sat, paced = run["saturation"], run["paced"]
        assert sat["scans"] == 30 and sat["throughput_per_s"] > 0 and sat["cpu_ms_per_scan"] > 0
        assert paced["scans"] == 4 and "late_p99_ms" in paced
        for figures in (sat, paced):
            assert figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"] <= figures["max_ms"]
        # Where the time went: this process's CPU, and on PostgreSQL its backend's too (a process on this machine).
        assert sat["client_cpu_ms_per_scan"] > 0 and sat["wall_ms_per_scan"] > 0
        assert (sat["server_cpu_ms_per_scan"] > 0) == (run["database"] == "postgresql")
        assert set(paced["slowest_1pct_ms"]) == set(_SPLIT)
        assert run["warmup"]["scans"] == 2 * 150 and run["warmup"]["p50_ms"] > 0
        assert (sum(run["plans"].values()) > 0) == (run["database"] == "postgresql")
        assert run["rollbacks"] >= 0
        check = run["check"]
        assert (check["doubles"], check["differences"], check["open_twice"], check["station_check_differences"]) \
            == (0, 0, 0, 0)


def test_kill_run_prints_the_json():
    """Guards `station bench --kill` (issue 20): one small series of kills through a real station run, its figures
    in one JSON document, the read size beside them, no fragment, double or reordering."""
    out = _bench("--kill", "--rate", "100", "--runs", "1", "--kills", "2")["kill"]
    assert (out["runs"], out["kills_per_run"], out["kills"], out["rate_per_s"]) == (1, 2, 2, 100)
    assert out["lines_sent"] > 0 and out["read_size_bytes"] == 64
    assert (out["fragments"], out["doubled"], out["reordered"], out["unprocessed"]) == (0, 0, 0, 0)
    assert out["lost_lines_per_run"] == [out["lost_lines"]] and out["lost_not_at_a_kill"] == 0


def test_unreachable_postgres_is_skipped_with_a_reason(tmp_path):
    """A PostgreSQL that does not answer is reported as skipped, with why, and the SQLite run still happens."""
    out = _bench("--database", f"sqlite:///{tmp_path}/b.db", "--database", "postgresql+psycopg://127.0.0.1:1/none",
                 "--serials", "200", "--stations", "1", "--scans", "5", "--history-samples", "5",
                 "--pallet", "0", "--big-posting", "0", "--http", "0", "--daemon", "0", "--hook-stations", "0",
                 "--drain", "0", "--count", "0")
    assert [r["database"] for r in out["runs"]] == ["sqlite", "sqlite"]
    assert out["skipped"] and out["skipped"][0]["database"] == "postgresql"
    assert "not reachable" in out["skipped"][0]["reason"]


@pytest.mark.parametrize("url", [
    pytest.param("mysql://somewhere/db", id="unknown_database_kind"),
])
def test_bad_database_url_is_refused(url):
    """A URL the bench cannot use is a clear error, not a traceback."""
    result = CliRunner().invoke(cli, ["bench", "--database", url, "--serials", "100"])
    assert result.exit_code != 0
    assert "sqlite:///" in result.output


def test_existing_sqlite_file_is_not_overwritten(tmp_path):
    """The bench fills a new file only: pointing it at an existing database (say, the shop's) is refused."""
    existing = tmp_path / "station.db"
    existing.write_bytes(b"not empty")
    result = CliRunner().invoke(cli, ["bench", "--database", f"sqlite:///{existing}", "--serials", "100"])
    assert result.exit_code != 0
    assert existing.read_bytes() == b"not empty"


def test_a_station_child_runs_the_benchs_own_code(tmp_path):
    """A ``station`` child started in a scratch directory (the real server of the http run, the daemon of --kill)
    imports this checkout's packages, not whichever the environment's editable install points at."""
    import subprocess
    import sys

    import station
    import web
    from station.bench.children import child_env

    shown = subprocess.run([sys.executable, "-c", "import station, web; print(station.__file__); print(web.__file__)"],
                           cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=60, check=True)
    assert shown.stdout.split() == [station.__file__, web.__file__]
