"""The printing commands through the real command line, on SQLite and PostgreSQL, against loopback printers.

``station printers`` asks each configured printer (a Zebra stand-in that
answers, a port nobody listens on) and reads its queue; ``station labels
serials --print`` reserves serials and queues their labels, which the daemon
of ``station run`` (here in-process, with its real print bell) prints.
"""
from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.daemon import DaemonProcess
from helpers.printers.queue import WAIT, nothing_more, take, wait_rows
from helpers.printers.standin_zebra import ZebraStandIn

from station import config as config_mod
from station.cli.main import cli
from station.daemon.daemon import Daemon
from station.domain import catalogue
from station.domain.errors import ConfigError
from station.domain.models import SerialNumber
from station.live.status import LiveStatus
from station.printing import queue as print_queue

WAIT_LEASE = timedelta(minutes=2)


@pytest.fixture
def zebra() -> Iterator[ZebraStandIn]:
    with ZebraStandIn() as standin:
        yield standin


def dead_address() -> str:
    """A loopback port nobody listens on: a printer switched off."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"


def write_config(tmp_path: Path, db, printers: list[tuple[str, str]]) -> Path:
    entries = "".join(f'\n[[printers]]\nid = "{pid}"\nkind = "zpl"\naddress = "{address}"\ntimeout = {WAIT}\n'
                      for pid, address in printers)
    path = tmp_path / "station.toml"
    path.write_text(f'[database]\nurl = "{db.url}"\n\n[daemon]\nspool = "{tmp_path / "spool.db"}"\n\n'
                    f'[[stations]]\nid = "goods-in"\nmode = "receive"\nprint_on_receive = "{printers[0][0]}"\n'
                    + entries, encoding="utf-8")
    return path


def station(path: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(path), *args])


def test_printers_reports_an_answering_printer_and_its_queue(db, tmp_path, zebra):
    """Guards `station printers` on a healthy printer: its kind, address, label, ready, and its queue; exit 0."""
    with db.Session.begin() as s:
        print_queue.queue_labels(s, "zebra-1", ["Q-1", "Q-2"])
    result = station(write_config(tmp_path, db, [("zebra-1", zebra.address)]), "printers")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["zebra-1", "zpl", zebra.address, "50x25", "mm", "203", "dpi", "ready",
                                     "2", "pending,", "0", "failed"]
    assert result.stderr == ""


def test_printers_says_which_printer_does_not_answer_and_fails(db, tmp_path, zebra):
    """Guards `station printers` as a check: a dead printer is one sentence on stderr and exit 1, the answering
    one still reported ready."""
    dead = dead_address()
    result = station(write_config(tmp_path, db, [("zebra-1", zebra.address), ("zebra-2", dead)]), "printers")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "zebra-1" and " ready " in lines[0]
    assert lines[1].split()[0] == "zebra-2" and " offline " in lines[1]
    [problem] = result.stderr.splitlines()
    assert problem.startswith(f"Printer zebra-2 does not answer: Printer at {dead} cannot be reached")
    assert problem.endswith(".") and not problem.endswith("..")


def test_printers_says_labels_wait_for_a_printer_no_longer_configured(db, tmp_path, zebra):
    """Guards labels left behind by a printer taken out of the configuration: no worker sends them, so
    `station printers` says how many wait and how to print them, and fails the check; printed ones are history."""
    with db.Session.begin() as s:
        print_queue.queue_labels(s, "old-zebra", ["L-1", "L-2", "L-3"])
        print_queue.queue_labels(s, "zebra-1", ["Q-1"])
    with db.Session.begin() as s:
        job = print_queue.claim(s, "old-zebra", "test", lease=WAIT_LEASE)
        print_queue.mark_printed(s, job, "test")
    result = station(write_config(tmp_path, db, [("zebra-1", zebra.address)]), "printers")
    assert result.exit_code == 1
    assert result.stdout.split()[0] == "zebra-1" and " ready " in result.stdout
    assert result.stderr.splitlines() == [
        "2 labels wait for printer old-zebra, which is no longer configured: add it back as a [[printers]] entry "
        "(or one with its id) to print them."]

    bare = tmp_path / "bare.toml"
    bare.write_text(f'[database]\nurl = "{db.url}"\n', encoding="utf-8")
    none = station(bare, "printers")
    assert none.exit_code == 1 and "No label printers are configured" in none.stdout
    assert "1 label waits for printer zebra-1, which is no longer configured" in none.stderr
    assert "2 labels wait for printer old-zebra" in none.stderr


def test_labels_serials_print_queues_and_the_daemon_prints(db, tmp_path, zebra):
    """Guards `station labels serials --print`: serials reserved as for a sheet, their labels queued in the same
    transaction, and `station run`'s daemon (woken by the command's bell, from another engine) prints each."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X")
    path = write_config(tmp_path, db, [("zebra-1", zebra.address)])
    daemon = Daemon(config_mod.load(path), db.engine, LiveStatus(), print_backoff=(0.02, 0.1))
    daemon.start()
    try:
        result = station(path, "labels", "serials", "--product", "WID-1", "--count", "3", "--print", "zebra-1")
        assert result.exit_code == 0, result.output
        assert "3 labels queued for printer zebra-1" in result.stdout
        serials = ["WID-1-000001", "WID-1-000002", "WID-1-000003"]
        assert [label.serial for label in take(zebra, 3)] == serials
        wait_rows(daemon.printing.Session, db, lambda found: [r.state for r in found] == ["printed"] * 3,
                  "the labels marked printed")
        with db.Session() as s:
            assert sorted(s.query(SerialNumber.serial)) == [(serial,) for serial in serials]
        assert nothing_more(zebra)
    finally:
        assert daemon.stop(WAIT)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--print", "nope"), "There is no printer 'nope' in the configuration (printers: zebra-1).",
                     id="unknown_printer"),
        pytest.param(("--prefix", "A-PREFIX-FAR-TOO-LONG-", "--print", "zebra-1"),
                     "Serial 'A-PREFIX-FAR-TOO-LONG-000001' does not fit on printer 'zebra-1'", id="does_not_fit"),
    ],
)
def test_labels_serials_print_refused_reserves_nothing(db, tmp_path, zebra, args, message):
    """Guards --print's refusals: one sentence, exit 1, and no serial reserved, no label queued."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X")
    result = station(write_config(tmp_path, db, [("zebra-1", zebra.address)]),
                     "labels", "serials", "--product", "WID-1", "--count", "2", *args)
    assert result.exit_code == 1 and message in result.stderr
    with db.Session() as s:
        assert s.query(SerialNumber).count() == 0
        assert print_queue.count_by_state(s) == {"pending": 0, "failed": 0}


def test_a_station_naming_no_printer_is_refused_at_start(db, tmp_path):
    """Guards print_on_receive's check: `station run` (any command) stops at once with the sentence naming the
    station and the printer it names, never runs with a receipt printer that does not exist."""
    path = write_config(tmp_path, db, [("zebra-1", dead_address())])
    path.write_text(path.read_text().replace('print_on_receive = "zebra-1"', 'print_on_receive = "zebra-2"'))
    result = station(path, "run")
    assert result.exit_code == 1
    assert "station goods-in: print_on_receive = 'zebra-2' names no printer: did you mean 'zebra-1'?" in result.stderr


def test_a_printer_whose_driver_cannot_work_stops_the_daemon_at_start(db, tmp_path):
    """Guards the daemon's own check: a Brother model the library does not know is found when the daemon starts
    (its sentence), not at the first label; `station printers` reports it as a problem too."""
    path = tmp_path / "station.toml"
    path.write_text(f'[database]\nurl = "{db.url}"\n\n[daemon]\nspool = "{tmp_path / "spool.db"}"\n\n'
                    '[[stations]]\nid = "goods-in"\nprint_on_receive = "ql"\n\n'
                    '[[printers]]\nid = "ql"\nkind = "brother_ql"\naddress = "tcp://192.0.2.11:9100"\n'
                    'label = "62x29"\nmodel = "QL-9999"\ntape = "62"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        Daemon(config_mod.load(path), db.engine, LiveStatus())
    assert "model 'QL-9999' is not one of" in refused.value.message
    result = station(path, "printers")
    assert result.exit_code == 1 and "model 'QL-9999' is not one of" in result.stderr
    assert result.stdout.split()[:3] == ["ql", "brother_ql", "tcp://192.0.2.11:9100"] and "not set up" in result.stdout


def test_station_run_prints_what_another_process_queued_and_stops_in_time(db, tmp_path, zebra):
    """Guards the whole path across processes: `station run` in a process of its own hears the bell of scans
    made by another process (`station scan`, here the test's), prints the receipt's labels, and still stops
    within the 2-second budget on SIGTERM."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=["09501101020917"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    path = write_config(tmp_path, db, [("zebra-1", zebra.address)])
    path.write_text(path.read_text().replace("[daemon]", '[web]\nhost = "127.0.0.1"\nport = 0\n\n[daemon]'))
    daemon = DaemonProcess(path, tmp_path)
    try:
        daemon.expect(r"Station running: http://")
        daemon.expect(r"printer zebra-1 \(zpl .*\): ready")
        for text in ("SUP:ACME", "09501101020917", "RUN-1", "RUN-2", "CMD:FINISH"):
            result = station(path, "scan", "goods-in", text)
            assert result.exit_code == 0, result.output
        assert [label.serial for label in take(zebra, 2)] == ["RUN-1", "RUN-2"]
        daemon.expect_count(r"printer zebra-1 printed RUN-\d", 2)
        assert daemon.terminate() == 0
        assert nothing_more(zebra)
    finally:
        daemon.close()
