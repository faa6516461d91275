"""Supplier serial lists (ASN): expected, received, missing and unexpected serials of a purchase order."""
from __future__ import annotations

import pytest

from station.domain import catalogue, documents, posting
from station.domain.asn import AsnImportFailed, check_expected, import_asn, serial_report
from station.domain.errors import Refusal
from station.domain.models import DocumentKind

ASN = "reference,product,serial\nPO-1,WID-1,A1\nPO-1,WID-1,A2\nPO-1,WID-1,A3\n"


@pytest.fixture
def order(db):
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget")
        catalogue.create_product(s, "OTHER", "Other")
        catalogue.create_party(s, "supplier", "ACME", "Acme")
        documents.create_purchase_order(s, "PO-1", "ACME", [("WID-1", 5)])
    return "PO-1"


def test_import_twice_changes_nothing(db, order):
    """The same serial list imported twice adds its serials once."""
    with db.Session.begin() as s:
        first = import_asn(s, ASN)
    with db.Session.begin() as s:
        second = import_asn(s, ASN)
    assert (first.added, first.unchanged) == (3, 0)
    assert (second.added, second.unchanged) == (0, 3)


@pytest.mark.parametrize("row,line,column", [
    pytest.param("PO-9,WID-1,A9", 3, "reference", id="unknown_order"),
    pytest.param("PO-1,NOPE,A9", 3, "product", id="unknown_product"),
    pytest.param("PO-1,OTHER,A9", 3, "product", id="product_not_on_order"),
    pytest.param("PO-1,WID-1,CMD:X", 3, "serial", id="unscannable_serial"),
])
def test_bad_row_reported_and_nothing_written(db, order, row, line, column):
    """A bad row names its line and column, and the rolled-back import leaves no expected serial."""
    text = "reference,product,serial\nPO-1,WID-1,A1\n" + row + "\n"
    with db.Session() as s:
        with pytest.raises(AsnImportFailed) as exc:
            import_asn(s, text)
        s.rollback()
    assert (exc.value.line, exc.value.column) == (line, column)
    with db.Session() as s:
        report = serial_report(s, documents.get_document(s, "PO-1"))
    assert report.expected == []


def test_expected_missing_unexpected(db, order):
    """Receiving against the list: a listed serial passes, an unlisted one is refused or warned, and the report adds
    up."""
    with db.Session.begin() as s:
        import_asn(s, ASN)
    with db.Session.begin() as s:
        po = documents.get_document(s, "PO-1")
        receipt = documents.open_document(s, DocumentKind.receipt, order=po)
        assert check_expected(s, po.id, po.reference, "A1", "refuse") is None
        with pytest.raises(Refusal) as exc:
            check_expected(s, po.id, po.reference, "ZZ", "refuse")
        assert exc.value.code == "serial_not_expected"
        assert "not on the supplier's list" in check_expected(s, po.id, po.reference, "ZZ", "warn")
        widget = catalogue.get_product(s, "WID-1")
        documents.add_line(s, receipt, product=widget, serial="A1")
        documents.add_line(s, receipt, product=widget, serial="ZZ")
        posting.post(s, receipt)
    with db.Session() as s:
        report = serial_report(s, documents.get_document(s, "PO-1"))
    assert report.expected == ["A1", "A2", "A3"]
    assert report.received == ["A1", "ZZ"]
    assert report.missing == ["A2", "A3"]
    assert report.unexpected == ["ZZ"]


def _service():
    from station.config import from_dict
    from station.scanning.service import ScanService

    return ScanService(from_dict({"stations": [
        {"id": "strict", "mode": "receive"},
        {"id": "lenient", "mode": "receive", "unexpected_serials": "warn"},
    ]}))


def test_scanning_against_the_list(db, order):
    """At the scanner: a listed serial is accepted, an unlisted one refused (or accepted with a warning where
    configured)."""
    with db.Session.begin() as s:
        import_asn(s, ASN)
        widget = catalogue.get_product(s, "WID-1")
        catalogue.add_barcode(s, widget, "4006381333931")
    service = _service()

    def scan(station, text):
        with db.Session.begin() as s:
            return service.process(s, station, text)

    for text in ("PO-1", "4006381333931", "A1"):
        assert scan("strict", text).accepted
    refused = scan("strict", "ZZ-1")
    assert (refused.accepted, refused.code) == (False, "serial_not_expected")
    assert "not on the supplier's list for PO-1" in refused.message
    assert scan("strict", "CMD:FINISH").accepted
    for text in ("PO-1", "4006381333931"):
        assert scan("lenient", text).accepted
    warned = scan("lenient", "ZZ-2")
    assert warned.accepted and "not on the supplier's list" in warned.message
    assert scan("lenient", "CMD:FINISH").accepted
    with db.Session() as s:
        report = serial_report(s, documents.get_document(s, "PO-1"))
    assert report.received == ["A1", "ZZ-2"] and report.unexpected == ["ZZ-2"] and report.missing == ["A2", "A3"]


def test_the_command_says_what_it_imported_in_a_sentence(db, order, tmp_path, monkeypatch):
    """`station import asn` answers with counts an operator reads, not a Python repr; twice, nothing more is added."""
    from click.testing import CliRunner

    from station.cli.main import cli

    monkeypatch.setenv("STATION_DATABASE_URL", db.url)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "asn.csv"
    path.write_text(ASN)
    first = CliRunner().invoke(cli, ["import", "asn", str(path)])
    second = CliRunner().invoke(cli, ["import", "asn", str(path)])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "3 serials: 3 added, 0 already on their orders" in first.output
    assert "3 serials: 0 added, 3 already on their orders" in second.output
    assert "AsnResult" not in first.output + second.output
