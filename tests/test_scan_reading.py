"""Reading a scan: normalising, SPEC 4's order of precedence, and GS1 through biip.

Pure tests with a fake ``Lookups`` (no database). The GS1 vectors come from
biip's own tests (``tests/test_parse.py``, ``tests/gs1_messages/test_messages.py``)
and from the element strings of GS1's General Specifications (the example
GTIN 09501101020917 of GS1's Global Office prefix 950, AIs 01, 10, 17, 21).
"""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.domain.barcodes import lookup_forms, normalise_barcode
from station.domain.errors import Refusal
from station.scan_core.reading import MAX_SCAN, Kind, ProductInfo, Reading, normalise, party_named, read

WIDGET = ProductInfo("WID-1", "Widget X", True, True)
POLAND = ProductInfo("PL-1", "Polish thing", True, True)
NORWAY = ProductInfo("NO-1", "Norwegian thing", True, True)
US = ProductInfo("US-1", "UPC thing", True, True)
DATABAR = ProductInfo("DB-1", "DataBar thing", True, True)
EAN8 = ProductInfo("E8-1", "EAN-8 thing", False, False)
CODE = ProductInfo("CODE-1", "Coded thing", False, False)

DOCUMENT_RE = re.compile(r"^PO-\d+$")


class FakeLookups:
    """The reader's questions answered from dicts, with barcodes stored as the database stores them (GTIN-14)."""

    def __init__(self, products=None, serials=None, parties=None, orders=()):
        products = products if products is not None else {
            "09501101020917": WIDGET, "5901234123457": POLAND, "07032069804988": NORWAY,
            "036000291452": US, "123601057072": US, "00123456789012": DATABAR, "96385074": EAN8, "CODE-XYZ": CODE,
        }
        self.products = {normalise_barcode(k): v for k, v in products.items()}
        self.serials = serials if serials is not None else {"SN-1": WIDGET, "HM-1": None}
        self.parties = parties if parties is not None else {("supplier", "ACME"), ("customer", "BOB")}
        self.orders = set(orders or {"PO-1042"})
        self.in_service = {"SN-IN-SERVICE"}
        self.asked: list[str] = []

    def product_by_barcode(self, text):
        self.asked.append(text)
        return next((self.products[f] for f in lookup_forms(text) if f in self.products), None)

    def serial_product(self, text):
        return (text in self.serials), self.serials.get(text)

    def serial_in_service(self, text):
        return text in self.in_service

    def party_exists(self, kind, code):
        return (kind, code) in self.parties

    def order_exists(self, reference):
        return reference in self.orders


def r(text, lookups=None, gs_substitute=None) -> Reading:
    return read(text, lookups or FakeLookups(), document_re=DOCUMENT_RE, gs_substitute=gs_substitute)


GS = "\x1d"

# (scan, gs_substitute, kind, gtin, serial, batch, expiry)
GS1_VECTORS = [
    # GS1 General Specifications element strings, GS1 DataMatrix (]d2).
    pytest.param(f"]d201095011010209171719050810ABCD1234{GS}21S1", None, Kind.gs1, "09501101020917", "S1", "ABCD1234",
                 "190508", id="datamatrix_gtin_expiry_batch_serial"),
    pytest.param(f"]d2010950110102091721SN1{GS}10LOT7{GS}17261231", None, Kind.gs1, "09501101020917", "SN1", "LOT7",
                 "261231", id="datamatrix_serial_first_with_separators"),
    pytest.param("]d201095011010209171726123110LOT7", None, Kind.gs1, "09501101020917", None, "LOT7", "261231",
                 id="datamatrix_fixed_expiry_before_variable_batch"),
    pytest.param(f"]d2{GS}0109501101020917", None, Kind.gs1, "09501101020917", None, None, None,
                 id="datamatrix_leading_fnc1_sent_as_gs"),
    pytest.param("]d20109501101020917" + "21" + "X" * 20, None, Kind.gs1, "09501101020917", "X" * 20, None, None,
                 id="serial_of_maximum_length_20"),
    pytest.param("]Q3010950110102091721ABC", None, Kind.gs1, "09501101020917", "ABC", None, None,
                 id="gs1_qr_serial_last_needs_no_separator"),
    pytest.param("0109501101020917" + "21S1", None, Kind.gs1, "09501101020917", "S1", None, None,
                 id="unmarked_ai01_with_serial"),
    pytest.param("]d20109501101020917|10B1|21S9", "|", Kind.gs1, "09501101020917", "S9", "B1", None,
                 id="gs_written_as_pipe"),
    # biip tests/test_parse.py
    pytest.param("]C1010590123412345715210526", None, Kind.gs1, "05901234123457", None, None, None,
                 id="biip_gs1_128_gtin13_best_before"),
    pytest.param("]e00100123456789012", None, Kind.gs1, "00123456789012", None, None, None,
                 id="biip_gs1_databar_gtin12"),
    pytest.param("0105901234123457", None, Kind.gs1, "05901234123457", None, None, None,
                 id="biip_unmarked_ai01_gtin13"),
    pytest.param("0100123601057072", None, Kind.gs1, "00123601057072", None, None, None,
                 id="biip_unmarked_ai01_gtin12"),
    pytest.param("]C10102824040005133", None, Kind.gs1, "02824040005133", None, None, None,
                 id="biip_gs1_128_restricted_circulation_number"),
    # biip tests/gs1_messages/test_messages.py: variable-length fields with and without separators.
    pytest.param("010703206980498815210526100329", None, Kind.gs1, "07032069804988", None, "0329", None,
                 id="biip_variable_batch_last_without_separator"),
    pytest.param("010703206980498810032915210526", None, Kind.gs1, "07032069804988", None, "032915210526", None,
                 id="biip_variable_batch_in_middle_swallows_the_rest"),
    pytest.param(f"0107032069804988100329{GS}15210526", None, Kind.gs1, "07032069804988", None, "0329", None,
                 id="biip_variable_batch_ended_by_gs"),
    pytest.param("0107032069804988100329|15210526", "|", Kind.gs1, "07032069804988", None, "0329", None,
                 id="biip_variable_batch_ended_by_substitute"),
    pytest.param(f"0107032069804988100329|2112345{GS}15210526", "|", Kind.gs1, "07032069804988", "12345", "0329",
                 None, id="biip_two_separators_mixed"),
    pytest.param(f"0107032069804988100329{GS}{GS}15210526", None, Kind.gs1, "07032069804988", None, "0329", None,
                 id="biip_double_separator_ignored"),
    pytest.param(f"]d2010703206980498815210526100329{GS}", None, Kind.gs1, "07032069804988", None, "0329", None,
                 id="biip_trailing_separator_ignored"),
    # Not GS1: a bad check digit, another AI, an AIM identifier of a plain symbology.
    pytest.param("0105901234123458", None, Kind.unknown, None, "0105901234123458", None, None,
                 id="biip_bad_check_digit_unmarked_is_neither_gs1_nor_product"),
    pytest.param("800307071324001022085952", None, Kind.unknown, None, "800307071324001022085952", None, None,
                 id="biip_grai_without_ai01_is_not_gs1"),
    pytest.param("]E05901234123457", None, Kind.product, None, None, None, None,
                 id="biip_ean13_with_aim_is_a_product"),
    pytest.param("]E496385074", None, Kind.product, None, None, None, None,
                 id="biip_ean8_with_aim_is_a_product"),
    pytest.param("]I105901234123457", None, Kind.product, None, None, None, None,
                 id="biip_itf14_with_aim_is_a_product"),
    pytest.param("]E00123601057072", None, Kind.product, None, None, None, None,
                 id="biip_upca_as_ean13_with_aim_is_a_product"),
    pytest.param("]d221SN-5", None, Kind.unknown, None, "SN-5", None, None,
                 id="gs1_serial_only_is_read_as_that_serial"),
]


@pytest.mark.parametrize("scan, sub, kind, gtin, serial, batch, expiry", GS1_VECTORS)
def test_gs1_vector(scan, sub, kind, gtin, serial, batch, expiry):
    """Guards the GS1 reading: product by GTIN, serial from AI 21, AI 10 and 17 kept, separators honoured."""
    reading = r(scan, gs_substitute=sub)
    assert reading.kind is kind
    assert reading.serial == serial
    if kind is Kind.gs1:
        assert (reading.code, reading.batch, reading.expiry) == (gtin, batch, expiry)
        assert reading.found is (reading.product is not None)


def test_gs1_vectors_are_at_least_twenty():
    """Guards the issue's floor: at least 20 GS1 vectors."""
    assert len(GS1_VECTORS) >= 20


def test_gs1_gtin_finds_the_product_in_any_stored_form():
    """Guards GTIN lookup: a GS1 GTIN-14 finds a product stored from its EAN-13 or UPC-A form."""
    assert r("0105901234123457").product == POLAND
    assert r("]e00100123456789012").product == DATABAR
    assert r("0100123601057072").product == US
    assert r("]C10102824040005133").found is False


@pytest.mark.parametrize(
    "scan, code",
    [
        pytest.param("]d20105901234123458", "invalid_scan", id="marked_gs1_with_bad_check_digit"),
        pytest.param("]d2010950110102091721" + "X" * 21, "invalid_scan", id="serial_over_20_characters"),
        pytest.param("]d201095011010209171713990010AB", "invalid_scan", id="impossible_expiry_date"),
        pytest.param("]C1garbage", "invalid_scan", id="marked_gs1_not_an_element_string"),
        pytest.param("]d200157035381410375177", "unknown_barcode", id="sscc_names_no_product_or_serial"),
        pytest.param("]d2", "invalid_scan", id="identifier_alone"),
    ],
)
def test_gs1_refused(scan, code):
    """Guards against a damaged or foreign GS1 barcode being taken as a product, or as a new serial."""
    with pytest.raises(Refusal) as exc:
        r(scan)
    assert exc.value.code == code
    assert exc.value.message


def test_unmarked_ai01_that_is_a_known_serial_stays_a_serial():
    """Guards SPEC 4's exception: unmarked AI 01 text that is itself a known serial is read as that serial."""
    lookups = FakeLookups(serials={"0109501101020917": WIDGET})
    reading = r("0109501101020917", lookups)
    assert reading.kind is Kind.known_serial and reading.serial == "0109501101020917"


@pytest.mark.parametrize("form", ["036000291452", "0036000291452", "00036000291452", "]E00036000291452",
                                  "]E0036000291452"])
def test_upc_ean_and_gtin14_forms_find_one_product(form):
    """Guards SPEC 2: UPC-A, EAN-13 and GTIN-14 forms of one number all find the same product."""
    reading = r(form)
    assert reading.kind is Kind.product and reading.product == US


@pytest.mark.parametrize("form", ["036000291453", "0036000291453", "00036000291453"])
def test_bad_check_digit_is_not_a_product(form):
    """Guards against a misread barcode (wrong check digit) finding a product."""
    assert r(form).kind is Kind.unknown


@pytest.mark.parametrize(
    "scan, kind, extra",
    [
        pytest.param("CMD:FINISH", Kind.finish, {}, id="command"),
        pytest.param("cmd:finish", Kind.finish, {}, id="command_any_case"),
        pytest.param("CMD:RECEIVE", Kind.mode, {"mode": "receive"}, id="mode_receive"),
        pytest.param("CMD:SELL", Kind.mode, {"mode": "sell"}, id="mode_sell"),
        pytest.param("CMD:RETURN", Kind.mode, {"mode": "return"}, id="mode_return"),
        pytest.param("CMD:CANCEL", Kind.cancel, {}, id="cancel"),
        pytest.param("CMD:UNDO", Kind.undo, {}, id="undo"),
        pytest.param("]C0CMD:UNDO", Kind.undo, {}, id="command_behind_code128_aim"),
        pytest.param("SUP:ACME", Kind.supplier, {"code": "ACME", "found": True}, id="supplier"),
        pytest.param("SUP:NOPE", Kind.supplier, {"code": "NOPE", "found": False}, id="unknown_supplier"),
        pytest.param("SUP:", Kind.supplier, {"code": "", "found": False}, id="empty_supplier"),
        pytest.param("CUS:BOB", Kind.customer, {"code": "BOB", "found": True}, id="customer"),
        pytest.param("PO-1042", Kind.order, {"code": "PO-1042", "found": True}, id="purchase_order"),
        pytest.param("PO-9", Kind.order, {"found": False}, id="unknown_purchase_order"),
        pytest.param("]C0PO-1042", Kind.order, {"code": "PO-1042"}, id="purchase_order_behind_aim"),
        pytest.param("CODE-XYZ", Kind.product, {"product": CODE}, id="non_gtin_product_barcode"),
        pytest.param("SN-1", Kind.known_serial, {"serial": "SN-1", "product": WIDGET}, id="known_serial"),
        pytest.param("HM-1", Kind.known_serial, {"serial": "HM-1", "product": None}, id="known_serial_no_product"),
        pytest.param("  SN-1 \r\n", Kind.known_serial, {"serial": "SN-1"}, id="trimmed"),
        pytest.param("NEW-7", Kind.unknown, {"serial": "NEW-7"}, id="new_serial"),
        pytest.param("<script>alert(1)</script>", Kind.unknown, {"serial": "<script>alert(1)</script>"}, id="html"),
        pytest.param("'; DROP TABLE serial_number; --", Kind.unknown, {"serial": "'; DROP TABLE serial_number; --"},
                     id="sql"),
        pytest.param("Ünïcødé-№1", Kind.unknown, {"serial": "Ünïcødé-№1"}, id="unicode"),
    ],
)
def test_precedence(scan, kind, extra):
    """Guards SPEC 4's order: command, party or order, GS1, product, known serial, unknown (text kept as scanned)."""
    reading = r(scan)
    assert reading.kind is kind
    for name, value in extra.items():
        assert getattr(reading, name) == value


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param(" \r\n", id="only_whitespace"),
        pytest.param("X" * (MAX_SCAN + 1), id="over_512_characters"),
        pytest.param("SN\x001", id="nul"),
        pytest.param("SN\x1b[31m", id="escape_sequence"),
        pytest.param("SN\x851", id="c1_control"),
        pytest.param("SN\x7f", id="delete"),
        pytest.param("SN\ud8001", id="lone_surrogate"),
        pytest.param("SN\u20281", id="line_separator"),
        pytest.param(b"\xff\xfeSN", id="invalid_utf8"),
        pytest.param(b"SN-\xc3", id="truncated_utf8"),
        pytest.param("CMD:EXPLODE", id="unknown_command"),
    ],
)
def test_refused_input(raw):
    """Guards against bad input from a scanner being read as anything: refused, with a message."""
    with pytest.raises(Refusal) as exc:
        r(raw)
    assert exc.value.code in ("invalid_scan", "unknown_barcode")
    assert exc.value.message


def test_exactly_512_characters_is_read():
    """Guards the limit's edge: 512 characters are read, 513 are not."""
    assert normalise("X" * MAX_SCAN) == "X" * MAX_SCAN


def test_gs_inside_a_scan_is_kept():
    """Guards the GS1 separator: the one control character a scan may hold."""
    assert normalise(f"0109501101020917{GS}21S1\r\n") == f"0109501101020917{GS}21S1"


def test_utf8_bytes_are_decoded():
    """Guards serial-port input: UTF-8 bytes are text like any other."""
    assert r("Ünï-1".encode()).serial == "Ünï-1"


# -- Hypothesis: nothing read raises anything but a Refusal ---------------------------------

gs1_like = st.builds(
    lambda aim, body, sep: aim + body.replace("~", sep),
    st.sampled_from(["", "]d2", "]C1", "]Q3", "]e0", "]E0", "]C0", "]d2\x1d"]),
    st.text(alphabet="0123456789~ABCxyz|", max_size=60).map(lambda t: "01" + t),
    st.sampled_from(["\x1d", "|", ""]),
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=700), st.binary(max_size=700), gs1_like,
                 st.text(max_size=40).map(lambda t: "CMD:" + t), st.text(max_size=40).map(lambda t: "SUP:" + t)),
       st.sampled_from([None, "|", "~", "^"]))
def test_read_gives_a_reading_or_a_refusal(raw, sub):
    """Guards against any text or bytes crashing the reader: it reads them, or refuses them with a code."""
    try:
        reading = r(raw, gs_substitute=sub)
    except Refusal as refusal:
        assert refusal.code in ("invalid_scan", "unknown_barcode") and refusal.message
        return
    assert isinstance(reading, Reading)
    assert reading.text
    if reading.kind in (Kind.known_serial, Kind.unknown):
        assert reading.serial
    if reading.kind is Kind.product:
        assert reading.product is not None
    if reading.kind is Kind.gs1:
        assert len(reading.code) == 14 and reading.found is (reading.product is not None)


@pytest.mark.parametrize("raw, named", [
    ("SUP:ACME", ("supplier", "ACME")),
    ("cus: BOB ", ("customer", "BOB")),  # the head in any case, the code as the reader reads it
    ("]C0SUP:ACME", ("supplier", "ACME")),  # behind a symbology identifier
    ("SUP:", None), ("CMD:FINISH", None), ("SN-1", None), (b"\xff\xfe", None),
])
def test_the_party_a_scan_names_is_asked_before_it_is_read(raw, named):
    """Guards reading.party_named, which the station's locked read asks about with the row (station_row's
    ``party``): the party the reader's ``SUP:``/``CUS:`` reader will ask for, and nothing for any other scan."""
    assert party_named(raw) == named
