"""The durable spool: every scan a reader completes, written to a local SQLite file first.

Theory of operation: a reader appends each scan (station, device, raw bytes,
time received) and the append is committed with ``synchronous=FULL`` before
anything else happens, so a scan the daemon has taken from a scanner survives
a kill -9 or a power cut. The processor then takes pending scans oldest
first, processes each against the main database under the idempotency key
``key(seq)`` and marks it done. Between the main-database commit and
``mark_done`` a crash leaves the scan pending; processing it again finds the
key in the scan log and changes nothing, so every scan takes effect once.

A scan marked done need not be on disk at once: lost with a power cut, the
mark leaves the scan pending, and processing it again changes nothing (its
key is in the scan log, committed durably before the mark). So ``mark_done``
commits without an fsync (written to the WAL, it survives a kill; the next
durable commit takes it to disk), and the scan path holds one fsync of the
spool's, the line's, not two.

A scan's commits (a read marked and taken, twice when a line comes in two
reads, then its done mark) add some ten pages to the write-ahead log, and
SQLite's own checkpoint would run inside whichever commit crossed its
threshold, every hundred scans or so: a reader's take, on the scan path.
So commits never checkpoint here (``wal_autocheckpoint=0``): the processor
does, in a pause between scans (``checkpoint``, with its pruning), and a
commit does it itself only after ``CHECKPOINT_AT`` commits without one (the
processor held up: the database away for long).

Sequences come from ``AUTOINCREMENT`` and are never reused; the key also
names this spool file (a random id made when the file is created), so a
deleted and recreated spool can never replay an old scan's answer.

A scan from the web page or the API (``station run``'s ordered path,
Processor.submit) is spooled with the idempotency key its client sent, and
its user: that key is then its key in the scan log, and appending it again
(the page resending it) finds the row already there instead of adding one.
As in the scan log, a key names one scan of one station.
Done rows are kept for a while (the last ``keep_done``) for ``/devices``.

A serial port's reader hands over each read (``take``): the lines it
completed and what it left unfinished on that port (the head of a line, or
the rest of a cut line still to drop) in one commit, so that after a kill
the next reader resumes exactly where what was kept ends: a head is never
both in a scan and in the port's row. Before each read the reader marks the
port ``reading``; a row still marked at start says that read was lost with
the process, and the next reader drops the rest of the line it cut. Only
lines must survive a power cut (fsync, ``synchronous=FULL``); a port's own
state only a killed process (its buffer does not outlive the machine), so
those commits, one or two per read, skip the fsync (``synchronous=NORMAL``,
written to the WAL all the same).
"""
from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PENDING, DONE, FAILED = "pending", "done", "failed"
CHECKPOINT_AT = 5000  # commits without a checkpoint, after which a commit runs one itself (some 40 MB of log)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scan (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    station TEXT NOT NULL,
    device TEXT NOT NULL,
    raw BLOB NOT NULL,
    received_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    done_at TEXT
);
CREATE INDEX IF NOT EXISTS scan_pending ON scan (seq) WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS port (
    port TEXT PRIMARY KEY,
    head BLOB NOT NULL DEFAULT x'',
    cut INTEGER NOT NULL DEFAULT 0,
    reading INTEGER NOT NULL DEFAULT 0
);
"""
# Added for scans sent with a client's idempotency key (a spool file from before gains them on open).
_ADDED = {"key": "TEXT", "user": "TEXT"}
# A key is one scan of one station (a spool file from before had it unique alone: that index goes).
_KEY_INDEX = ("DROP INDEX IF EXISTS scan_key",
              "CREATE UNIQUE INDEX IF NOT EXISTS scan_station_key ON scan (station, key) WHERE key IS NOT NULL")
_COLUMNS = "seq, station, device, raw, received_at, state, attempts, outcome, done_at, key, user"


@dataclass(frozen=True)
class SpooledScan:
    """One scan as the spool holds it."""

    seq: int
    station: str
    device: str
    raw: bytes
    received_at: datetime
    state: str = PENDING
    attempts: int = 0
    outcome: str | None = None
    done_at: datetime | None = None
    key: str | None = None  # the client's idempotency key (web and API scans); None: key(seq)
    user: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _row(r: tuple) -> SpooledScan:
    seq, station, device, raw, received_at, state, attempts, outcome, done_at, key, user = r
    return SpooledScan(seq, station, device, bytes(raw), _time(received_at), state, attempts, outcome, _time(done_at),
                       key, user)


class Spool:
    """A spool file, shared by the reader threads (append) and the processor (the rest)."""

    def __init__(self, path: str | os.PathLike[str], *, keep_done: int = 1000) -> None:
        if keep_done < 0:
            raise ValueError("keep_done must be 0 or more")
        self.path = Path(path)
        self.keep_done = keep_done
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Autocommit mode: every transaction below is an explicit BEGIN IMMEDIATE ... COMMIT.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a commit is on disk when append() returns
        self._db.execute("PRAGMA wal_autocheckpoint=0")  # no commit checkpoints (see checkpoint)
        self._commits = 0  # since the last checkpoint
        with self._transaction() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            have = {row[1] for row in db.execute("PRAGMA table_info(scan)")}
            for column, kind in _ADDED.items():
                if column not in have:
                    db.execute(f"ALTER TABLE scan ADD COLUMN {column} {kind}")
            for statement in _KEY_INDEX:
                db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('id', ?)", (secrets.token_hex(6),))
            self.id = db.execute("SELECT value FROM meta WHERE key = 'id'").fetchone()[0]

    # -- transactions ----------------------------------------------------
    @contextmanager
    def _transaction(self, *, fsync: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) and serialised between threads; on disk
        when it returns, or without ``fsync`` only in the operating system's hands (it survives a kill)."""
        with self._lock:
            if not fsync:
                self._db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: no fsync at commit
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:  # a failed COMMIT (disk full) leaves it open
                        self._db.execute("ROLLBACK")
                    raise
            finally:
                if not fsync:
                    self._db.execute("PRAGMA synchronous=FULL")
            self._commits += 1
            if self._commits >= CHECKPOINT_AT:
                self._checkpoint()

    def checkpoint(self) -> None:
        """Move the write-ahead log into the file (PASSIVE: never waits); the processor calls it between scans."""
        with self._lock:
            self._checkpoint()

    def _checkpoint(self) -> None:
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self._commits = 0

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- writing ---------------------------------------------------------
    def append(self, station: str, device: str, raw: bytes, received_at: datetime | None = None, *,
               key: str | None = None, user: str | None = None) -> SpooledScan:
        """Store one scan, durably, before anything else is done with it; a ``key`` the station has gives its row
        back (whatever its data: the caller compares)."""
        at = _now() if received_at is None else received_at
        with self._transaction() as db:
            if key is not None:
                found = db.execute(f"SELECT {_COLUMNS} FROM scan WHERE station = ? AND key = ?",
                                   (station, key)).fetchone()
                if found is not None:
                    return _row(found)
            seq = db.execute(
                "INSERT INTO scan (station, device, raw, received_at, key, user) VALUES (?, ?, ?, ?, ?, ?)",
                (station, device, bytes(raw), at.isoformat(), key, user),
            ).lastrowid
        return SpooledScan(seq, station, device, bytes(raw), at, key=key, user=user)

    def take(self, station: str, device: str, raws: list[bytes], *, port: str | None = None, head: bytes = b"",
             cut: bool = False) -> list[SpooledScan]:
        """Store the scans of one read, and what it left unfinished on ``port``, in one commit: a kill keeps both or
        neither. On disk (fsync) when it returns if there are scans; else the port's state survives a kill."""
        at = _now()
        with self._transaction(fsync=bool(raws)) as db:
            seqs = [db.execute("INSERT INTO scan (station, device, raw, received_at) VALUES (?, ?, ?, ?)",
                               (station, device, bytes(raw), at.isoformat())).lastrowid for raw in raws]
            if port is not None:
                db.execute("INSERT INTO port (port, head, cut, reading) VALUES (?, ?, ?, 0) ON CONFLICT (port) "
                           "DO UPDATE SET head = excluded.head, cut = excluded.cut, reading = 0",
                           (port, bytes(head), int(cut)))
        return [SpooledScan(seq, station, device, bytes(raw), at) for seq, raw in zip(seqs, raws, strict=True)]

    def reading(self, port: str) -> None:
        """A read of ``port`` is about to be taken: if no ``take`` follows, it was lost (see ``unfinished``)."""
        with self._transaction(fsync=False) as db:
            db.execute("INSERT INTO port (port, reading) VALUES (?, 1) ON CONFLICT (port) DO UPDATE SET reading = 1",
                       (port,))

    def unfinished(self, port: str) -> tuple[bytes, bool]:
        """What the last reader of ``port`` left unfinished: (head, False), or (b"", True) when the rest of a cut
        line comes first (a read was lost, or the rest was being dropped)."""
        rows = self._query("SELECT head, cut, reading FROM port WHERE port = ?", (port,))
        if not rows:
            return b"", False
        head, cut, reading = rows[0]
        return (b"", True) if reading or cut else (bytes(head), False)

    def mark_done(self, seq: int, outcome: str) -> None:
        """The scan's effect is committed in the main database: never process it again (survives a kill; a power cut
        may take the mark, not the scan, which its key then answers again, unchanged)."""
        self._finish(seq, DONE, outcome, fsync=False)

    def mark_done_many(self, outcomes: list[tuple[int, str]]) -> None:
        """A batch's scans (seq, outcome) committed in the main database in one transaction: all done, one commit
        (without an fsync, as ``mark_done``)."""
        at = _now().isoformat()
        with self._transaction(fsync=False) as db:
            db.executemany("UPDATE scan SET state = ?, outcome = ?, done_at = ? WHERE seq = ?",
                           [(DONE, outcome, at, seq) for seq, outcome in outcomes])

    def mark_failed(self, seq: int, outcome: str) -> None:
        """Processing cannot succeed (an error, not an outage): keep the row, stop retrying it."""
        self._finish(seq, FAILED, outcome)

    def _finish(self, seq: int, state: str, outcome: str, *, fsync: bool = True) -> None:
        with self._transaction(fsync=fsync) as db:
            db.execute("UPDATE scan SET state = ?, outcome = ?, done_at = ? WHERE seq = ?",
                       (state, outcome, _now().isoformat(), seq))

    def record_attempt(self, seq: int) -> int:
        """Count a failed attempt at processing ``seq``; return the attempts so far."""
        with self._transaction() as db:
            db.execute("UPDATE scan SET attempts = attempts + 1 WHERE seq = ?", (seq,))
            return db.execute("SELECT attempts FROM scan WHERE seq = ?", (seq,)).fetchone()[0]

    def prune(self) -> int:
        """Forget finished rows beyond the newest ``keep_done``; pending rows are never touched."""
        with self._transaction() as db:
            return db.execute(
                "DELETE FROM scan WHERE state != 'pending' AND seq NOT IN "
                "(SELECT seq FROM scan WHERE state != 'pending' ORDER BY seq DESC LIMIT ?)",
                (self.keep_done,),
            ).rowcount

    # -- reading ---------------------------------------------------------
    def key(self, seq: int) -> str:
        """The idempotency key of scan ``seq`` in the main database's scan log (one spooled without a key)."""
        return f"spool:{self.id}:{seq}"

    def key_of(self, scan: SpooledScan) -> str:
        """The scan's idempotency key in the scan log: its client's, else the spool's own."""
        return scan.key if scan.key is not None else self.key(scan.seq)

    def has_pending(self) -> bool:
        """True while any scan waits to be processed (of any station)."""
        return bool(self._query("SELECT 1 FROM scan WHERE state = 'pending' LIMIT 1"))

    def pending(self, limit: int = 100) -> list[SpooledScan]:
        """The oldest pending scans, in the order they were received."""
        rows = self._query(f"SELECT {_COLUMNS} FROM scan WHERE state = 'pending' ORDER BY seq LIMIT ?", (limit,))
        return [_row(r) for r in rows]

    def held(self) -> dict[str, int]:
        """Pending scans per station."""
        return dict(self._query("SELECT station, count(*) FROM scan WHERE state = 'pending' GROUP BY station"))

    def held_by_device(self) -> dict[tuple[str, str], int]:
        """Pending scans per (station, device): the backlog ``/devices`` shows."""
        rows = self._query(
            "SELECT station, device, count(*) FROM scan WHERE state = 'pending' GROUP BY station, device")
        return {(station, device): n for station, device, n in rows}

    def get(self, seq: int) -> SpooledScan | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM scan WHERE seq = ?", (seq,))
        return _row(rows[0]) if rows else None

    def recent(self, limit: int = 50, station: str | None = None) -> list[SpooledScan]:
        """The newest scans of any state, newest first."""
        if station is None:
            rows = self._query(f"SELECT {_COLUMNS} FROM scan ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            rows = self._query(f"SELECT {_COLUMNS} FROM scan WHERE station = ? ORDER BY seq DESC LIMIT ?",
                               (station, limit))
        return [_row(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
