"""The printers on the pages and in the API, on SQLite and PostgreSQL: /devices, the operator screen, its panel.

What the daemon records (``printer_status``) and what the queue holds
(``print_job``) are written here directly, as the daemon would: these tests
are about what the pages make of them. Every serial shown is escaped.
"""
from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest

from station.config import from_dict
from station.printing import queue as print_queue
from web.app import create_app

OWNER = "test-box"


@pytest.fixture
def config(db):
    return from_dict({
        "database": {"url": db.url},
        "stations": [{"id": "goods-in", "mode": "receive", "print_on_receive": "zebra-1"},
                     {"id": "till", "mode": "sell"}],
        "printers": [{"id": "zebra-1", "kind": "zpl", "address": "tcp://192.0.2.10:9100"},
                     {"id": "spare", "kind": "zpl", "address": "/dev/usb/lp0", "label": "100x50"}],
    })


@pytest.fixture
def client(db, config, tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    return create_app(config, engine=db.engine).test_client()


def send_all(db, outcomes: list[str]) -> None:
    """Work the queue of zebra-1 as the daemon would, one outcome per job: printed, failed, doubled."""
    for outcome in outcomes:
        with db.Session.begin() as s:
            job = print_queue.claim(s, "zebra-1", OWNER, lease=timedelta(minutes=2))
            if outcome == "failed":
                print_queue.mark_failed(s, job, OWNER, "serial_does_not_fit",
                                        f"Serial {job.serial!r} does not fit on printer 'zebra-1'.")
            else:
                if outcome == "doubled":
                    print_queue.mark_retry(s, job, OWNER, "delivery_uncertain", "Not confirmed.",
                                           possibly_printed=True)
                    job = print_queue.claim(s, "zebra-1", OWNER, lease=timedelta(minutes=2))
                print_queue.mark_printed(s, job, OWNER)


@pytest.fixture
def queue(db):
    """zebra-1 out of paper with 3 labels waiting, after one printed, one failed (markup in it), one doubled."""
    with db.Session.begin() as s:
        print_queue.queue_labels(s, "zebra-1", ["SN-OK", "<b>WIDE</b>", "SN-TWICE", "W-1", "W-2", "W-3"],
                                 station="goods-in")
    send_all(db, ["printed", "failed", "doubled"])
    with db.Session.begin() as s:
        print_queue.record_status(s, "zebra-1", "error", "paper out", "Printer 'zebra-1' cannot print: paper out.")


def test_devices_shows_each_printer_its_state_and_queue(client, queue):
    """Guards /devices: every configured printer, the stations printing there, its state and since when, pending
    and failed counts, the last label printed, the failed labels with their sentence and the possibly doubled."""
    page = client.get("/devices")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    printers = html[html.index("<h2>Printers</h2>"):]
    row = printers[printers.index("<td>zebra-1</td>"):printers.index("<td>spare</td>")]
    assert 'href="/stations/goods-in"' in row and "till" not in row
    assert '<span class="state">paper out</span>' in row and "since " in row
    assert '<td class="num">3</td><td class="num">1</td>' in row
    assert '<td class="raw">SN-TWICE</td>' in row  # the last printed
    assert "&lt;b&gt;WIDE&lt;/b&gt;" in row and "<b>WIDE" not in row  # failed, escaped, with its sentence
    assert unescape("Serial &#39;&lt;b&gt;WIDE&lt;/b&gt;&#39; does not fit") in unescape(row)
    assert "May have printed twice" in row and "SN-TWICE" in row[row.index("May have printed twice"):]
    spare = printers[printers.index("<td>spare</td>"):]
    assert "not checked yet" in spare and "100x50 mm, 203 dpi" in spare


def test_operator_screen_and_panel_show_the_stations_printer(client, queue):
    """Guards the screen: its station's printer in a sentence ("Printer zebra-1: paper out, 3 labels waiting"),
    in the page, in the live panel and in GET /api/stations/<station>; a station without a printer shows none."""
    sentence = "Printer zebra-1: paper out, 3 labels waiting, 1 failed"
    screen = client.get("/stations/goods-in").get_data(as_text=True)
    assert f">{sentence}</p>" in screen and 'class="printer printer-error printer-waiting"' in screen
    panel = client.get("/stations/goods-in/panel").get_json()
    assert panel["printer"] == {"id": "zebra-1", "state": "error", "condition": "paper out", "pending": 3,
                                "failed": 1, "sentence": sentence}
    assert client.get("/api/stations/goods-in").get_json()["printer"] == panel["printer"]
    assert client.get("/api/stations/till").get_json()["printer"] is None
    till = client.get("/stations/till").get_data(as_text=True)
    line = till[till.index('id="printer"'):]
    assert line[:line.index("</p>")].rstrip().endswith("hidden>")  # there, for the live page, and empty


def test_devices_says_labels_wait_for_a_printer_no_longer_configured(client, db):
    """Guards /devices beside `station printers`: labels queued for a printer the configuration no longer names
    are counted in a sentence that says how to print them (escaped like every serial and id)."""
    with db.Session.begin() as s:
        print_queue.queue_labels(s, "<i>gone</i>", ["G-1", "G-2"])
    html = client.get("/devices").get_data(as_text=True)
    assert "2 labels wait for printer &lt;i&gt;gone&lt;/i&gt;, which is no longer configured" in html
    assert "<i>gone</i>" not in html


def test_devices_without_printers_says_how_to_add_one(db, tmp_path, monkeypatch):
    """Guards the empty case: no [[printers]] is a sentence, not an empty table."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    client = create_app(from_dict({"database": {"url": db.url}}), engine=db.engine).test_client()
    html = client.get("/devices").get_data(as_text=True)
    assert "No label printers are configured" in html and "[[printers]]" in html
