"""The durable spool on a real SQLite file: what is appended survives, in order, until marked done."""
from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from station.config import from_dict
from station.daemon import spool as spool_module
from station.daemon.spool import DONE, FAILED, PENDING, Spool


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "spool.db"


def test_append_is_committed_before_it_returns(path):
    """A scan appended must be on disk at once: another connection (a restarted daemon) sees it."""
    with Spool(path) as spool:
        scan = spool.append("counter", "scanner-1", b"SN-1")
        with sqlite3.connect(path) as other:
            rows = other.execute("SELECT seq, station, device, raw, state FROM scan").fetchall()
    assert rows == [(scan.seq, "counter", "scanner-1", b"SN-1", PENDING)]


def test_synchronous_full(path):
    """The spool must not trade durability for speed: commits are fsynced (synchronous=FULL)."""
    with Spool(path) as spool:
        assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_raw_bytes_and_time_kept_exactly(path):
    """Invalid UTF-8, control bytes and the time received come back unchanged: the station refuses them,
    not the spool."""
    raw = b"\xff\xfe\x1d01\x00<script>"
    at = datetime(2026, 11, 26, 10, 15, 2, 123456, tzinfo=UTC)
    with Spool(path) as spool:
        seq = spool.append("counter", "s", raw, received_at=at).seq
    with Spool(path) as spool:
        (scan,) = spool.pending()
    assert (scan.seq, scan.raw, scan.received_at) == (seq, raw, at)


def test_pending_oldest_first_and_done_leaves(path):
    """Pending scans come back in the order received, across stations; done ones never again."""
    with Spool(path) as spool:
        seqs = [spool.append(st, "d", f"S{i}".encode()).seq for i, st in enumerate(["a", "b", "a", "b", "a"])]
        assert [s.seq for s in spool.pending()] == seqs
        assert [s.raw for s in spool.pending(2)] == [b"S0", b"S1"]
        spool.mark_done(seqs[0], "accepted")
        spool.mark_done(seqs[3], "refused unknown_barcode")
        assert [s.seq for s in spool.pending()] == [seqs[1], seqs[2], seqs[4]]
        assert spool.held() == {"a": 2, "b": 1}
        assert spool.held_by_device() == {("a", "d"): 2, ("b", "d"): 1}
        done = spool.get(seqs[3])
        assert (done.state, done.outcome) == (DONE, "refused unknown_barcode")
        assert done.done_at is not None


def test_a_done_mark_is_kept_by_the_next_daemon_and_the_next_scan_is_durable(path):
    """Guards the done mark's quick commit (no fsync: a power cut may only leave the scan pending, to be answered
    again from the scan log): another connection (a daemon after a kill) finds it done, and the commit after it
    is fsynced again (synchronous FULL)."""
    with Spool(path) as spool:
        first, second = spool.append("c", "d", b"ONE"), spool.append("c", "d", b"TWO")
        spool.mark_done(first.seq, "accepted")
        spool.mark_done_many([(second.seq, "refused unknown_barcode")])
        assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == 2
        with Spool(path) as restarted:
            assert restarted.pending() == []
            assert [(s.state, s.outcome) for s in restarted.recent()] == [(DONE, "refused unknown_barcode"),
                                                                          (DONE, "accepted")]


def test_restart_finds_pending_and_keeps_its_identity(path):
    """After the process dies, a new Spool on the file holds the same pending scans and the same keys."""
    spool = Spool(path)
    first = spool.append("counter", "d", b"ONE")
    second = spool.append("counter", "d", b"TWO")
    spool.mark_done(first.seq, "accepted")
    key = spool.key(second.seq)
    spool.close()
    with Spool(path) as again:
        assert [s.raw for s in again.pending()] == [b"TWO"]
        assert again.key(second.seq) == key
        assert again.append("counter", "d", b"THREE").seq > second.seq


def test_sequences_never_reused_after_prune(path):
    """Pruning the newest done rows must not hand their sequence (their idempotency key) to a new scan."""
    with Spool(path, keep_done=0) as spool:
        seqs = [spool.append("c", "d", b"X").seq for _ in range(3)]
        for seq in seqs:
            spool.mark_done(seq, "accepted")
        assert spool.prune() == 3
        assert spool.append("c", "d", b"Y").seq > max(seqs)


def test_a_new_spool_file_has_new_keys(tmp_path):
    """A deleted and recreated spool restarts its sequence: its keys must differ, or old answers would be replayed."""
    with Spool(tmp_path / "a.db") as a, Spool(tmp_path / "b.db") as b:
        assert a.append("c", "d", b"X").seq == b.append("c", "d", b"X").seq == 1
        assert a.key(1) != b.key(1)


def test_prune_keeps_the_newest_finished_and_every_pending(path):
    """Pruning keeps the last N finished rows (for /devices) and never a pending scan."""
    with Spool(path, keep_done=2) as spool:
        seqs = [spool.append("c", "d", f"S{i}".encode()).seq for i in range(6)]
        for seq in seqs[:5]:
            spool.mark_done(seq, "accepted")
        spool.mark_failed(seqs[1], "failed: boom")
        assert spool.prune() == 3
        assert [s.seq for s in spool.recent()] == [seqs[5], seqs[4], seqs[3]]
        assert [s.seq for s in spool.pending()] == [seqs[5]]


def test_failed_rows_stop_being_pending(path):
    """A scan that can never succeed is set aside (kept, marked failed) so later scans go on."""
    with Spool(path) as spool:
        bad = spool.append("gone", "d", b"X").seq
        good = spool.append("c", "d", b"Y").seq
        assert spool.record_attempt(bad) == 1
        assert spool.record_attempt(bad) == 2
        spool.mark_failed(bad, "failed: unknown station")
        assert [s.seq for s in spool.pending()] == [good]
        assert spool.get(bad).state == FAILED
        assert spool.get(bad).attempts == 2


def test_concurrent_appends_lose_nothing(path):
    """Several reader threads appending at once: every scan stored once, each thread's scans in its order."""
    with Spool(path) as spool:
        def reader(n: int) -> None:
            for i in range(50):
                spool.append("c", f"dev{n}", f"{n}-{i}".encode())

        threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        scans = spool.pending(1000)
    assert len(scans) == 200
    for n in range(4):
        mine = [s.raw for s in scans if s.device == f"dev{n}"]
        assert mine == [f"{n}-{i}".encode() for i in range(50)]


def test_a_reads_lines_and_its_unfinished_line_are_kept_together(path):
    """Guards issue 20: a read's scans and the head of the line it left unfinished on its port are one commit, seen
    by a restarted daemon (another connection) together; the port's next take replaces the head."""
    with Spool(path) as spool:
        spool.take("c", "d", [b"ONE", b"TWO"], port="/dev/scanner", head=b"THR")
        with Spool(path) as restarted:
            assert [s.raw for s in restarted.pending()] == [b"ONE", b"TWO"]
            assert restarted.unfinished("/dev/scanner") == (b"THR", False)
            assert restarted.unfinished("/dev/other") == (b"", False)
        spool.take("c", "d", [b"THREE"], port="/dev/scanner")
        assert spool.unfinished("/dev/scanner") == (b"", False)
        spool.take("c", "evdev", [b"KEYS"])  # an input device keeps no port state
        assert [s.raw for s in spool.pending()] == [b"ONE", b"TWO", b"THREE", b"KEYS"]


@pytest.mark.parametrize("head", [pytest.param(b"", id="between_lines"), pytest.param(b"HEA", id="inside_a_line")])
def test_a_read_marked_and_never_taken_comes_back_as_a_cut_line(path, head):
    """Guards issue 20: a daemon killed with a read in flight leaves the port marked reading; the next one learns
    the rest of the line that read cut comes first (to drop), and the head it had kept is no line's any more."""
    with Spool(path) as spool:
        spool.take("c", "d", [b"ONE"], port="/dev/scanner", head=head)
        spool.reading("/dev/scanner")
        assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again after the quick commit
    with Spool(path) as restarted:
        assert restarted.unfinished("/dev/scanner") == (b"", True)
        restarted.take("c", "d", [], port="/dev/scanner", cut=True)
        assert restarted.unfinished("/dev/scanner") == (b"", True)
        restarted.take("c", "d", [b"NEXT"], port="/dev/scanner", head=b"N")
        assert restarted.unfinished("/dev/scanner") == (b"N", False)
        assert [s.raw for s in restarted.pending()] == [b"ONE", b"NEXT"]


def test_a_take_that_fails_keeps_neither_its_lines_nor_its_unfinished_line(path):
    """Guards the one commit: a hand-over that fails half-way leaves the spool as it was, for the reader to hand
    the same read over again (a line both spooled and still a head would be doubled)."""
    with Spool(path) as spool:
        spool.take("c", "d", [], port="/dev/scanner", head=b"HEAD")
        with pytest.raises(TypeError):
            spool.take("c", "d", [b"HEADLINE", None], port="/dev/scanner", head=b"")
        assert spool.pending() == []
        assert spool.unfinished("/dev/scanner") == (b"HEAD", False)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        pytest.param({"database": {"url": "sqlite:////srv/st/station.db"}}, "/srv/st/spool.db", id="beside_sqlite"),
        pytest.param({"daemon": {"spool": "/var/lib/st/held.db"}}, "/var/lib/st/held.db", id="absolute_key"),
        pytest.param({"daemon": {"spool": "data/held.db"}}, "/etc/st/data/held.db", id="relative_to_config"),
    ],
)
def test_spool_path(toml, expected, monkeypatch):
    """The spool lives beside the database by default, or where [daemon] spool says (relative to the config)."""
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    config = from_dict(toml, source=Path("/etc/st/station.toml"))
    assert config.spool_path == Path(expected)


def test_spool_goes_to_systemd_state_directory(monkeypatch):
    """Under systemd (ProtectSystem=strict) the spool goes to $STATE_DIRECTORY, the one writable place."""
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/barcode-station")
    config = from_dict({"database": {"url": "postgresql+psycopg://db/station"}}, source=Path("/etc/st/station.toml"))
    assert config.spool_path == Path("/var/lib/barcode-station/spool.db")


def test_a_clients_key_is_one_scan_per_station(path):
    """Guards idempotency keys under ``station run``: a key names one scan of one station (as in the scan log),
    so the same key at another station is another scan, and at the same station gives its first row back."""
    spool = Spool(path)
    first = spool.append("till-1", "web", b"SN-1", key="k-1")
    other = spool.append("till-2", "web", b"SN-2", key="k-1")
    assert other.seq != first.seq and (other.station, other.raw) == ("till-2", b"SN-2")
    again = spool.append("till-1", "web", b"SN-1", key="k-1")
    assert (again.seq, again.raw) == (first.seq, b"SN-1")
    assert [(s.station, s.key) for s in spool.pending()] == [("till-1", "k-1"), ("till-2", "k-1")]


def test_no_commit_checkpoints_until_it_is_long_overdue(path, monkeypatch):
    """Guards the scan path against SQLite's own checkpoint, which ran inside whichever commit crossed 1,000 pages
    of log (a reader's take, every hundred scans or so): commits leave the log to ``checkpoint`` (the processor's,
    between scans) until CHECKPOINT_AT commits went without one."""
    monkeypatch.setattr(spool_module, "CHECKPOINT_AT", 50)
    with Spool(path) as spool:
        assert spool._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        spool.checkpoint()
        for n in range(49):
            spool.take("c", "d", [f"S{n}".encode()])
        assert spool._commits == 49
        spool.append("c", "d", b"ONE")
        assert spool._commits == 0  # the 50th commit checkpointed
        spool.take("c", "d", [b"TWO"])
        spool.checkpoint()
        assert spool._commits == 0
        with Spool(path) as restarted:
            assert len(restarted.pending()) == 51
