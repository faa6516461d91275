"""``station export epcis`` (issue 24, part 3): every posted movement as one EPCIS 2.0 document, streamed.

The real command line on the test's database writes a document GS1's schema accepts; ``--since`` keeps the
later movements; and the export holds one batch of rows, never the list: its peak memory (tracemalloc) for
20,000 movements is within a fixed bound of its peak for 2,000, a count-bounded check, not a timing one.
"""
from __future__ import annotations

import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from helpers.epcis import errors
from sqlalchemy import insert, select

from station.cli.main import cli
from station.config import from_dict
from station.domain import catalogue, events
from station.domain.models import Document, Movement
from station.domain.vocabulary import DocumentKind, DocumentStatus, EventType, MovementKind
from station.traceability import epcis

START = datetime(2026, 3, 1, tzinfo=UTC)
PER_DOCUMENT = 500


def _fill(db, n: int) -> None:
    """``n`` more receipt movements of LOOSE, 500 a posted document (each with its document.posted event),
    one second apart from START on."""
    with db.Session.begin() as s:
        product = catalogue.get_product(s, "LOOSE")
        done = s.scalar(select(Movement.id).order_by(Movement.id.desc()).limit(1)) or 0
        for first in range(done, done + n, PER_DOCUMENT):
            doc = Document(reference=f"R-{first:06d}", kind=DocumentKind.receipt, status=DocumentStatus.posted,
                           station="default")
            s.add(doc)
            s.flush()
            s.execute(insert(Movement), [
                {"at": START + timedelta(seconds=i), "kind": MovementKind.receipt, "quantity": 1,
                 "product_id": product.id, "document_id": doc.id, "station": "default"}
                for i in range(first, min(first + PER_DOCUMENT, done + n))])
            events.record(s, EventType.document_posted, "document", doc.id)


def _config(db, tmp_path) -> str:
    path = tmp_path / "station.toml"
    path.write_text(f'[database]\nurl = "{db.url}"\n', encoding="utf-8")
    return str(path)


def test_the_command_writes_a_valid_document(db, world, tmp_path):
    """The real command: a valid EPCISDocument on stdout with one event per movement, the count on stderr;
    ``--since`` keeps the movements at or after it."""
    _fill(db, 30)
    config = _config(db, tmp_path)
    result = CliRunner().invoke(cli, ["--config", config, "export", "epcis"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert errors(document) == []
    assert len(document["epcisBody"]["eventList"]) == 30 and "30 events exported." in result.stderr
    since = (START + timedelta(seconds=25)).strftime("%Y-%m-%dT%H:%M:%S")
    result = CliRunner().invoke(cli, ["--config", config, "export", "epcis", "--since", since])
    later = json.loads(result.stdout)["epcisBody"]["eventList"]
    assert [e["eventTime"] for e in later] == [
        (START + timedelta(seconds=s)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for s in range(25, 30)]


def test_bad_since_is_one_sentence(db, tmp_path):
    """A date that is no date is refused in one sentence, never a traceback."""
    result = CliRunner().invoke(cli, ["--config", _config(db, tmp_path), "export", "epcis", "--since", "soon"])
    assert result.exit_code == 2 and "Traceback" not in result.output and "'soon'" in result.output


class _Sink(io.TextIOBase):
    def __init__(self) -> None:
        self.events = 0

    def write(self, text: str) -> int:
        self.events += text.count('"ObjectEvent"')
        return len(text)


def _peak(db) -> tuple[int, int]:
    """The export's peak traced memory, and the events it wrote."""
    config = from_dict({"database": {"url": db.url}})
    sink = _Sink()
    with db.Session() as s:
        tracemalloc.start()
        for chunk in epcis.document_text(s, config, epcis.movement_rows(s)):
            sink.write(chunk)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, sink.events


@pytest.mark.slow  # about 30 s a backend: tracemalloc traces every allocation of 24,000 events
def test_memory_is_bounded_by_a_batch_not_by_the_count(db, world):
    """Ten times the movements take no more than a fixed margin over the smaller export's peak: rows come
    through the cursor a batch at a time and each event is written and dropped. Were the events collected,
    20,000 of them (about 1 KiB each as dicts) would add well over 10 MiB; the bound allows 2 MiB."""
    _fill(db, 2_000)
    _peak(db)  # first use: statements compiled and cached, not the export's own memory
    small, n = _peak(db)
    assert n == 2_000
    _fill(db, 18_000)
    large, n = _peak(db)
    assert n == 20_000
    assert large < small + 2 * 1024 * 1024, (small, large)
