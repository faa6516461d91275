"""2D labels on a Zebra: the ZPL that reaches the stand-in holds the printer's own ^BX / ^BQ, whose field data is
exactly the element string with FNC1, or the URI, and whose symbol, drawn, fits the label and reads back.

The ZPL is read with the test's own reading of the ZPL II Programming Guide
(``helpers.printers.zpl_render``: ^FH hex escapes first, then ^BX's escape
character: ``_1`` FNC1, ``__`` an underscore; ^BQ's ``MA,`` switches), apart from
the driver; the symbol is then made by zxing-cpp standing in for the printer's
encoder, at the module size and position the ZPL gives, and read back.
"""

from __future__ import annotations

import pytest
import zxingcpp
from helpers.printers import zpl_render
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printers import LabelRefused, PrintJob, Symbol, make_printer
from drivers.printers.symbols import GS, QUIET_ZONE, side

WAIT = 5.0
GTIN = "09506000134352"  # GS1's example GTIN (Dal Giardino risotto rice, GS1 Digital Link documentation)
SET_82 = "".join(c for c in map(chr, range(33, 127)) if c not in "#$@[\\]^`{|}~")


def zpl_printer(address: str, label: str = "50x25", dpi: int = 203):
    return make_printer({"id": "zebra-1", "kind": "zpl", "address": address, "label": label, "dpi": dpi,
                         "timeout": WAIT})


def gs1(serial: str) -> Symbol:
    return Symbol("datamatrix", elements=(("01", GTIN), ("21", serial)))


def read(zpl: str) -> tuple[list[tuple[str, str]], zpl_render.MatrixField, zpl_render.Label]:
    """(symbology identifier, text as a scanner sends it) of what zxing-cpp reads on the drawn label."""
    label = zpl_render.parse(zpl)
    image, field = zpl_render.draw_matrix(label)
    found = zxingcpp.read_barcodes(image, formats=(zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.QRCode),
                                   text_mode=zxingcpp.TextMode.Plain)
    return [(r.symbology_identifier, r.text) for r in found], field, label


@pytest.mark.parametrize(("symbol", "aim", "label", "dpi"), [
    pytest.param(gs1("SN/2024//7"), "]d2", "50x25", 203, id="gs1_datamatrix_203"),
    pytest.param(gs1("A_B_1"), "]d2", "50x25", 300, id="gs1_underscores_doubled_300"),
    pytest.param(gs1("X" * 20), "]d2", "38x25", 203, id="gs1_longest_serial_38x25"),
    pytest.param(Symbol("datamatrix", elements=(("01", GTIN), ("10", "LOT-7"), ("21", "S1"))), "]d2", "50x25", 203,
                 id="gs1_batch_then_serial_fnc1_between"),
    pytest.param(Symbol("datamatrix", "^XZ~HS_1\\5E<b>"), "]d1", "50x25", 203, id="plain_zpl_commands_in_serial"),
    pytest.param(Symbol("qr", f"https://id.gs1.org/01/{GTIN}/21/SN%2F1"), "]Q1", "50x25", 203, id="qr_digital_link"),
    pytest.param(Symbol("qr", "https://res.example.com/~dl/01/09506000134352/21/A_B%7E"), "]Q1", "57x32", 300,
                 id="qr_tilde_and_underscore"),
    pytest.param(Symbol("qr", "SN-PLAIN-1"), "]Q1", "38x25", 600, id="qr_plain_serial_600"),
])
def test_2d_label_reaches_the_printer_and_reads_back(zebra, symbol, aim, label, dpi):
    """Guards the ZPL of 2D labels end to end: ^BX ECC 200 with '_' as its escape or ^BQ model 2 at level M, the
    field data exactly the element string with FNC1 (or the URI), the symbol inside the label with its quiet
    zones, the serial's text under it, and what it reads back as exactly what the job says."""
    printer = zpl_printer(zebra.address, label, dpi)
    printer.send(PrintJob("job-2d", "SN-TEXT-1", symbol))
    zpl = zebra.printed.get(timeout=WAIT)
    found, field, parsed = read(zpl)
    assert found == [(aim, symbol.data)]
    assert (field.data, field.gs1) == (symbol.data, symbol.gs1)
    if symbol.symbology == "datamatrix":
        assert field.params[:3] == ["N", str(field.module), "200"] and field.params[6] == "_"
        assert field.raw.startswith("_1") is symbol.gs1
    else:
        assert field.params == ["N", "2", str(field.module), "M"]
        assert field.module <= 10  # ^BQ's magnification
    assert "^" not in field.raw and "~" not in field.raw  # no character of the data starts a ZPL command
    g = printer.config.geometry
    assert field.module * 25.4 / dpi >= 0.25
    quiet, modules = QUIET_ZONE[symbol.symbology] * field.module, side(symbol) * field.module
    assert field.x - quiet >= 0 and field.y - quiet >= 0
    assert field.x - quiet + modules <= g.width_dots
    [text_at] = [int(args.split(",")[1]) for name, args in parsed.commands if name == "FO"][1:]
    assert field.y - quiet + modules <= text_at < g.height_dots  # the text under the symbol's quiet zone
    assert zpl_render.field_hex(parsed.all("FD")[-1], "\\") == "SN-TEXT-1"
    assert parsed.one("FX") == "station job job-2d"


@given(st.text(alphabet=SET_82, min_size=1, max_size=20))
@settings(max_examples=80, deadline=None)
def test_any_gs1_serial_is_written_exactly(serial):
    """Guards the ^BX escaping for every serial AI 21 can carry: FNC1 first, underscores doubled, nothing
    else changed, read back through ^FH and the escape rules as exactly (01)(21)."""
    zpl = zpl_printer("/dev/null").prepare(PrintJob("j", "T", gs1(serial))).decode("ascii")
    found, field, _ = read(zpl)
    assert field.gs1 and field.data == f"01{GTIN}21{serial}"
    assert found == [("]d2", f"01{GTIN}21{serial}")]


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40))
@settings(max_examples=80, deadline=None)
def test_any_printable_text_survives_the_field_escapes(text):
    """Guards ^FH and ^BX escapes together: any printable ASCII (^, ~, \\, _ included) in a plain DataMatrix and
    a QR code is the field's data exactly, and the printed text line is the serial."""
    for symbol in (Symbol("datamatrix", text), Symbol("qr", text)):
        zpl = zpl_printer("/dev/null", "57x32").prepare(PrintJob("j", text, symbol)).decode("ascii")
        found, field, parsed = read(zpl)
        assert field.data == text and found[0][1] == text
        assert zpl_render.field_hex(parsed.all("FD")[-1], "\\") == text


def test_element_strings_keep_their_separators():
    """Guards FNC1 as a separator: a variable-length value not last is ended by _1, read as GS."""
    symbol = Symbol("datamatrix", elements=(("01", GTIN), ("10", "L1"), ("21", "S_1")))
    zpl = zpl_printer("/dev/null").prepare(PrintJob("j", "S_1", symbol)).decode("ascii")
    field = zpl_render.matrix_field(zpl_render.parse(zpl))
    assert field.raw == f"_101{GTIN}10L1_121S__1"
    assert field.data == f"01{GTIN}10L1{GS}21S_1"


@pytest.mark.parametrize(("symbol", "label"), [
    pytest.param(Symbol("qr", "https://id.gs1.org/01/09506000134352/21/" + "%2F" * 20), "25x12",
                 id="qr_on_tiny_stock"),
    pytest.param(Symbol("datamatrix", "S" * 64), "20x10", id="datamatrix_on_tiny_stock"),
])
def test_a_2d_label_that_cannot_fit_is_refused_and_sends_nothing(zebra, symbol, label):
    """Guards "a serial that cannot fit is refused, not printed unreadable" for 2D: modules under 0.25 mm are
    never sent; the refusal says how big the code must be."""
    with pytest.raises(LabelRefused) as refused:
        zpl_printer(zebra.address, label).send(PrintJob("j", "SN-1", symbol))
    assert refused.value.code == "serial_does_not_fit" and not refused.value.retryable
    assert "does not fit on printer 'zebra-1'" in refused.value.message and "use larger labels" in refused.value.message
    assert zebra.connections == 0


@pytest.mark.parametrize("dpi", [203, 300, 600])
def test_a_19mm_label_holds_the_largest_serial_symbol(dpi):
    """Guards the documented capacity on a Zebra: the QR of a Digital Link of 20 percent-encoded characters, at
    the 49 modules the printer's own encoder may need, fits a 19 mm label at every dpi and not a 17 mm one."""
    symbol = Symbol("qr", f"https://id.gs1.org/01/{GTIN}/21/" + "%2F" * 20)
    zpl = zpl_printer("/dev/null", "60x19", dpi).prepare(PrintJob("j", "S", symbol)).decode("ascii")
    assert read(zpl)[0] == [("]Q1", symbol.data)]
    with pytest.raises(LabelRefused):
        zpl_printer("/dev/null", "60x17", dpi).prepare(PrintJob("j", "S", symbol))
