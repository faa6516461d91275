"""Operators at the stations (SPEC 4 "Operators"): badges sign in, CMD:LOGOUT signs out, require_operator,
operator_idle_minutes, and who is signed in recorded on every line, movement and scan log entry."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers.api import assert_error
from sqlalchemy import select, update

from station.config import Config, DatabaseConfig, StationConfig, WebConfig, from_dict
from station.domain import catalogue, operators, tokens
from station.domain.errors import Invalid
from station.domain.models import Document, DocumentLine, Movement, ScanLog, StationState
from station.scanning.service import ScanService
from station.storage.retry import run_in_transaction
from web import create_app

BARCODE = "036000291452"


@pytest.fixture
def people(db, world):
    with db.Session.begin() as s:
        operators.create_operator(s, "U17", "Jane Doe")
        operators.create_operator(s, "B2", "Bob")


def service(**station) -> ScanService:
    return ScanService(from_dict({"stations": [{"id": "goods-in", "mode": "receive", **station}]}))


def scan(db, svc: ScanService, text: str, user: str | None = None):
    return run_in_transaction(db.Session, lambda s: svc.process(s, "goods-in", text, user=user))


def view(db, svc: ScanService) -> dict:
    with db.Session() as s:
        return svc.view(s, "goods-in")


def users(db):
    with db.Session() as s:
        return (list(s.scalars(select(DocumentLine.user).order_by(DocumentLine.id))),
                list(s.scalars(select(Movement.user).order_by(Movement.id))),
                [tuple(r) for r in s.execute(select(ScanLog.raw, ScanLog.user).order_by(ScanLog.id))])


def test_whoever_is_signed_in_is_on_every_line_movement_and_scan(db, people):
    """Guards SPEC 2: a line, its movement and its scan name the operator signed in when it was scanned; a new
    badge mid-receipt replaces them (their next lines are the new one's); CMD:LOGOUT signs out."""
    svc = service()
    assert scan(db, svc, "USR:U17").message == "Signed in: Jane Doe."
    for text in ("SUP:ACME", BARCODE, "SN-1"):
        assert scan(db, svc, text).accepted
    assert scan(db, svc, "USR:B2").message == "Signed in: Bob (in place of Jane Doe)."
    assert scan(db, svc, "SN-2").accepted
    assert view(db, svc)["operator"] == {"code": "B2", "name": "Bob"}
    assert scan(db, svc, "CMD:FINISH").accepted
    assert scan(db, svc, "CMD:LOGOUT").message == "Signed out: Bob."
    assert scan(db, svc, "CMD:LOGOUT").message == "Nobody was signed in."
    lines, movements, logged = users(db)
    assert lines == ["U17", "B2"] and movements == ["U17", "B2"]
    assert logged == [("USR:U17", "U17"), ("SUP:ACME", "U17"), (BARCODE, "U17"), ("SN-1", "U17"), ("USR:B2", "B2"),
                      ("SN-2", "B2"), ("CMD:FINISH", "B2"), ("CMD:LOGOUT", None), ("CMD:LOGOUT", None)]
    with db.Session() as s:
        assert s.scalar(select(Document.user).where(Document.kind == "receipt")) == "U17"  # who opened it
    assert view(db, svc)["operator"] is None


def test_a_station_that_requires_an_operator_takes_nothing_but_a_badge_until_one_signs_in(db, people):
    """Guards require_operator: every scan but USR: is refused with operator_required (and the prompt asks for a
    badge); an unknown or deactivated badge is unknown_operator; once signed in, scans go through."""
    svc = service(require_operator=True)
    for text in ("CMD:SELL", "SUP:ACME", BARCODE, "SN-1", "CMD:FINISH", "CMD:LOGOUT", "junk"):
        result = scan(db, svc, text)
        assert (result.accepted, result.code) == (False, "operator_required"), text
        assert result.prompt == "Scan your operator badge (USR:...) to sign in."
    assert scan(db, svc, "USR:NOBODY").code == "unknown_operator"
    with db.Session.begin() as s:
        operators.update_operator(s, operators.get_operator(s, "B2"), active=False)
    assert scan(db, svc, "USR:B2").code == "unknown_operator"
    assert scan(db, svc, "USR:U17").accepted
    assert scan(db, svc, "SUP:ACME").accepted and scan(db, svc, BARCODE).accepted
    assert scan(db, svc, "CMD:LOGOUT").accepted
    assert scan(db, svc, "SN-1").code == "operator_required"


def _idle_since(db, minutes: int) -> None:
    """The signed-in operator's last scan ``minutes`` ago (as if the station had stood that long)."""
    with db.Session.begin() as s:
        s.execute(update(StationState).values(
            operator_seen_at=datetime.now(UTC) - timedelta(minutes=minutes)))


def test_an_idle_operator_is_signed_out_at_the_next_scan(db, people):
    """Guards operator_idle_minutes, decided on the scan path: after that long without a scan the view shows
    nobody, the next scan runs with nobody signed in (refused where an operator is required, saying why), and
    a scan inside the time keeps the operator and restarts the clock."""
    svc = service(require_operator=True, operator_idle_minutes=30)
    scan(db, svc, "USR:U17")
    _idle_since(db, 29)
    assert scan(db, svc, "SUP:ACME").accepted  # within the time: still Jane, and the clock starts again
    _idle_since(db, 29)
    assert view(db, svc)["operator"] == {"code": "U17", "name": "Jane Doe"}
    _idle_since(db, 31)
    assert view(db, svc)["operator"] is None
    refused = scan(db, svc, BARCODE)
    assert refused.code == "operator_required"
    assert refused.message.startswith("Jane Doe was signed out after 30 minutes without a scan")
    with db.Session() as s:
        assert s.scalar(select(StationState.operator_id)) is None  # the sign-out was written by that scan

    lenient = service(operator_idle_minutes=30)  # the same station, no operator required
    scan(db, lenient, "USR:U17")
    _idle_since(db, 31)
    assert scan(db, lenient, BARCODE).accepted
    assert users(db)[2][-1] == (BARCODE, None)


def test_who_is_signed_in_survives_a_restart_and_shows_in_the_api_and_on_the_screen(db, people):
    """Guards SPEC 4: the operator is stored with the station's state, so a new process (a new service on a new
    session) finds them signed in; GET /api/stations/<id> and the screen name them."""
    scan(db, service(), "USR:U17")
    again = service()  # as after a restart: nothing in memory
    assert view(db, again)["operator"] == {"code": "U17", "name": "Jane Doe"}
    assert scan(db, again, "SUP:ACME").accepted and users(db)[2][-1] == ("SUP:ACME", "U17")
    app = create_app(from_dict({"database": {"url": db.url}, "stations": [{"id": "goods-in", "mode": "receive"}]}),
                     engine=db.engine)
    client = app.test_client()
    assert client.get("/api/stations/goods-in").get_json()["operator"] == {"code": "U17", "name": "Jane Doe"}
    assert 'id="operator"' in (page := client.get("/stations/goods-in").get_data(as_text=True)) and "Jane Doe" in page
    assert client.get("/stations/goods-in/panel").get_json()["operator"] == {"code": "U17", "name": "Jane Doe"}


def test_a_write_off_loopback_with_nobody_signed_in_records_the_token_and_else_the_operator(db, people, tmp_path,
                                                                                            monkeypatch):
    """Guards SPEC 2's user of a movement: the operator signed in at the station, else the token's name for a
    write off loopback (as before operators existed)."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    with db.Session.begin() as s:
        token = tokens.create_token(s, "erp")
    config = Config(database=DatabaseConfig(db.url), web=WebConfig(host="0.0.0.0"),
                    stations=(StationConfig("goods-in", "receive"),))
    client = create_app(config, engine=db.engine).test_client()
    client.environ_base.update({"REMOTE_ADDR": "192.0.2.10"})
    auth = {"Authorization": f"Bearer {token}"}
    for text in ("SUP:ACME", BARCODE, "SN-1", "USR:U17", "SN-2", "CMD:FINISH"):
        assert client.post("/api/stations/goods-in/scans", json={"data": text}, headers=auth).get_json()["accepted"]
    lines, movements, _ = users(db)
    assert lines == ["erp", "U17"] and movements == ["erp", "U17"]


def test_a_serial_or_barcode_may_not_start_like_a_badge(client, world):
    """Guards SPEC 2: a serial or a barcode starting with USR: could never be scanned as itself."""
    assert_error(client.post("/api/serials", json={"serial": "USR:X1"}), 400, "invalid_serial")
    assert_error(client.post("/api/products/WID-1/barcodes", json={"barcode": "usr:9"}), 400, "invalid_barcode")
    with pytest.raises(Invalid, match="USR:"), client.application.extensions["station"].Session.begin() as s:
        catalogue.add_barcode(s, catalogue.get_product(s, "WID-2"), "USR:1")
