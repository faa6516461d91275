"""Counts are worded in the singular and the plural, never "line(s)", and cell values without stray quotes
(issue 20: "1 line", "1 minute", "-5 is not a whole number").

Every message here comes out of the real thing: ``station`` commands on the
test's database (SQLite and PostgreSQL), scans through ``station scan``, and
the API on the app.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import text, update

from station.cli.main import cli
from station.domain import catalogue, documents, operators, posting
from station.domain.models import DocumentKind, StationState

WIDGET = "036000291452"


def write_config(tmp_path, db, **door) -> str:
    """A configuration on the test's database: goods-in (receive), and door (receive, with ``door`` settings)."""
    extra = "".join(f"{key} = {value}\n" for key, value in door.items())
    path = tmp_path / "station.toml"
    path.write_text(f'[database]\nurl = "{db.url}"\n\n[[stations]]\nid = "goods-in"\nmode = "receive"\n\n'
                    f'[[stations]]\nid = "door"\nmode = "receive"\n{extra}', encoding="utf-8")
    return str(path)


def station(config: str, *args: str):
    return CliRunner().invoke(cli, ["--config", config, *args])


@pytest.fixture
def stock(db):
    """WID-1 Widget (a UPC-A barcode), LOOSE (no serial at purchase), supplier ACME."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=[WIDGET])
        catalogue.create_product(s, "LOOSE", "Loose part", serial_required_for_purchase=False)
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")


@pytest.mark.parametrize("serials, words", [
    pytest.param(["SN-1"], "A document with 1 line is open", id="one_line"),
    pytest.param(["SN-1", "SN-2"], "A document with 2 lines is open", id="two_lines"),
])
def test_a_mode_change_over_an_open_document_counts_its_lines(db, stock, tmp_path, serials, words):
    """Guards "1 line(s)" in the document_open refusal a scanner operator reads."""
    config = write_config(tmp_path, db)
    for scanned in ("SUP:ACME", WIDGET, *serials):
        assert station(config, "scan", "goods-in", scanned).exit_code == 0
    refused = station(config, "scan", "goods-in", "CMD:SELL")
    assert refused.exit_code == 1
    assert f"Refused (document_open): {words}: scan CMD:FINISH or CMD:CANCEL" in refused.stderr
    assert "(s)" not in refused.output


@pytest.mark.parametrize("minutes, words", [
    pytest.param(1, "after 1 minute without a scan", id="one_minute"),
    pytest.param(2, "after 2 minutes without a scan", id="two_minutes"),
])
def test_an_operator_signed_out_for_idling_is_told_in_minutes(db, stock, tmp_path, minutes, words):
    """Guards "signed out after 1 minutes": operator_idle_minutes = 1 is a minute."""
    with db.Session.begin() as s:
        operators.create_operator(s, "U17", "Jane Doe")
    config = write_config(tmp_path, db, require_operator="true", operator_idle_minutes=minutes)
    assert station(config, "scan", "door", "USR:U17").exit_code == 0
    with db.Session.begin() as s:  # the station has stood idle a little longer than it allows
        s.execute(update(StationState).where(StationState.station == "door").values(
            operator_seen_at=datetime.now(UTC) - timedelta(minutes=minutes, seconds=5)))
    refused = station(config, "scan", "door", "SUP:ACME")
    assert refused.exit_code == 1
    assert f"Refused (operator_required): Jane Doe was signed out {words}: scan your operator badge" in refused.stderr


@pytest.mark.parametrize("rows, words", [
    pytest.param(1, "1 row: 1 created, 0 updated, 0 unchanged", id="one_row"),
    pytest.param(2, "2 rows: 2 created, 0 updated, 0 unchanged", id="two_rows"),
])
def test_an_import_counts_its_rows(db, tmp_path, rows, words):
    """Guards "1 rows: 1 created", the answer the issue quoted."""
    csv = tmp_path / "products.csv"
    csv.write_text("code,name\n" + "".join(f"P-{n},Part {n}\n" for n in range(rows)), encoding="utf-8")
    result = station(write_config(tmp_path, db), "import", "products", str(csv))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [words]


def test_a_negative_quantity_is_named_without_quotes(db, stock, tmp_path):
    """Guards "'-5' is not a whole number": the cell's value is shown as it was typed."""
    csv = tmp_path / "orders.csv"
    csv.write_text("reference,supplier,product,quantity\nPO-7,ACME,WID-1,-5\n", encoding="utf-8")
    result = station(write_config(tmp_path, db), "import", "purchase-orders", str(csv))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == ("Error: line 2, column quantity: -5 is not a whole number "
                                              "(nothing was imported)")


@pytest.mark.parametrize("serials, words", [
    pytest.param(1, "1 serial: 1 added, 0 already on their orders", id="one_serial"),
    pytest.param(2, "2 serials: 2 added, 0 already on their orders", id="two_serials"),
])
def test_a_supplier_list_counts_its_serials(db, stock, tmp_path, serials, words):
    """Guards "1 serials" in station import asn's answer."""
    with db.Session.begin() as s:
        documents.create_purchase_order(s, "PO-1", "ACME", [("WID-1", 5)])
    csv = tmp_path / "asn.csv"
    csv.write_text("reference,product,serial\n" + "".join(f"PO-1,WID-1,S-{n}\n" for n in range(serials)),
                   encoding="utf-8")
    result = station(write_config(tmp_path, db), "import", "asn", str(csv))
    assert result.exit_code == 0, result.output
    assert words in result.stdout


@pytest.mark.parametrize("received, words", [
    pytest.param(1, "1 movement exported.", id="one_movement"),
    pytest.param(2, "2 movements exported.", id="two_movements"),
])
def test_an_export_counts_its_movements(db, stock, tmp_path, received, words):
    """Guards "1 movement(s) exported." on station export movements."""
    with db.Session.begin() as s:
        doc = documents.open_document(s, DocumentKind.receipt, supplier=catalogue.get_party(s, "supplier", "ACME"))
        for n in range(received):
            documents.add_line(s, doc, product=catalogue.get_product(s, "WID-1"), serial=f"SN-{n}")
        posting.post(s, doc)
    result = station(write_config(tmp_path, db), "export", "movements", "--out", str(tmp_path / "out.csv"))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [words]


@pytest.mark.parametrize("tampered, words", [
    pytest.param(["LOOSE"], "1 difference between stored stock and the movements.", id="one_difference"),
    pytest.param(["LOOSE", "WID-1"], "2 differences between stored stock and the movements.", id="two_differences"),
])
def test_check_counts_its_differences(db, stock, tmp_path, tampered, words):
    """Guards "1 difference(s)" on station check: stock changed behind the domain's back, one product or two."""
    with db.Session.begin() as s:
        for code in tampered:
            s.execute(text("UPDATE product SET unserialised_on_hand = 7 WHERE code = :code"), {"code": code})
    result = station(write_config(tmp_path, db), "check")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [words]
    assert len(result.stdout.splitlines()) == len(tampered)


@pytest.mark.parametrize("body, words", [
    pytest.param({"data": "x", "colour": "red"}, "Unknown field: colour.", id="one_field"),
    pytest.param({"data": "x", "colour": "red", "size": 2}, "Unknown fields: colour, size.", id="two_fields"),
])
def test_unknown_fields_are_counted(client, body, words):
    """Guards "Unknown field(s)" in the API's unknown_field refusal."""
    r = client.post("/api/stations/default/scans", json=body)
    assert r.status_code == 400
    assert r.get_json()["error"] == {"code": "unknown_field", "message": words}
