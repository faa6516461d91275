"""station.printing.labels.label_image, the renderer raster printers draw with: exact size, whole-dot modules, scans."""

from __future__ import annotations

import string

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printers import Symbol
from station.printing.labels import MIN_MODULE_MM, label_image
from station.printing.matrix import MIN_MODULE_MM as MIN_MATRIX_MM


def bar_widths(image) -> list[int]:
    """Widths in dots of the dark runs across the middle row of the bars."""
    return dark_runs([image.getpixel((x, image.height // 3)) < 128 for x in range(image.width)])


@pytest.mark.parametrize(
    ("text", "size", "dpi"),
    [
        pytest.param("SN-2024-0001", (696, 342), 300, id="brother_62_endless"),
        pytest.param("SN-2024-ACME-WIDGET-77", (991, 306), 300, id="brother_29x90_turned"),
        pytest.param("ABCDEFGHIJKL", (399, 199), 203, id="50x25_at_203"),
        pytest.param("1" * 24, (591, 295), 300, id="digits_50x25_at_300"),
    ],
)
def test_label_image_is_exact_and_scans(text, size, dpi):
    """Guards the raster renderer: the image is the label's size in dots and reads back as exactly the text."""
    image = label_image(text, *size, dpi)
    assert image.size == size and image.mode == "L"
    assert [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128)] == [text]
    narrowest = min(bar_widths(image))
    assert narrowest * 25.4 / dpi >= MIN_MODULE_MM
    assert all(width % narrowest == 0 for width in bar_widths(image))  # every bar a whole number of modules


@given(st.text(alphabet=string.printable[:95], min_size=1, max_size=15))
@settings(max_examples=60, deadline=None)
def test_any_printable_text_scans_on_62mm_tape(text):
    """Guards charset switching through the raster path: any text of the 15 that fit 62 mm tape reads back."""
    image = label_image(text, 696, 342, 300)
    assert [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128)] == [text]


@pytest.mark.parametrize(
    ("text", "size", "dpi", "match"),
    [
        pytest.param("X" * 17, (696, 342), 300, "does not fit", id="too_long_for_62mm"),
        pytest.param("SN-1", (696, 100), 300, "too low", id="too_low"),
        pytest.param("Ü-1", (696, 342), 300, "ASCII", id="not_ascii"),
    ],
)
def test_label_image_refuses(text, size, dpi, match):
    """Guards the renderer's refusals, which the drivers turn into serial_does_not_fit."""
    with pytest.raises(ValueError, match=match):
        label_image(text, *size, dpi)


def dark_runs(row: list[bool]) -> list[int]:
    """The lengths of the runs of dark (True) pixels in a row, in order."""
    widths, run = [], 0
    for dark in row + [False]:
        if dark:
            run += 1
        elif run:
            widths.append(run)
            run = 0
    return widths


GS1_SYMBOL = Symbol("datamatrix", elements=(("01", "09506000134352"), ("21", "SN/1")))
QR_SYMBOL = Symbol("qr", "https://id.gs1.org/01/09506000134352/21/SN%2F1")


@pytest.mark.parametrize(
    ("symbol", "aim", "size", "dpi"),
    [
        pytest.param(GS1_SYMBOL, "]d2", (696, 342), 300, id="gs1_datamatrix_brother_62"),
        pytest.param(GS1_SYMBOL, "]d2", (303, 199), 203, id="gs1_datamatrix_38x25_at_203"),
        pytest.param(QR_SYMBOL, "]Q1", (591, 295), 300, id="qr_50x25_at_300"),
        pytest.param(QR_SYMBOL, "]Q1", (303, 199), 203, id="qr_38x25_at_203"),
        pytest.param(Symbol("datamatrix", "S" * 64), "]d1", (399, 199), 203, id="plain_64_characters"),
    ],
)
def test_2d_label_image_is_exact_and_reads_back(symbol, aim, size, dpi):
    """Guards the raster renderer's 2D labels: the label's size in dots, square modules of whole dots at least
    0.25 mm, and a read-back of exactly what the symbol holds."""
    image = label_image("SN/1", *size, dpi, symbol=symbol)
    assert image.size == size and image.mode == "L"
    found = zxingcpp.read_barcodes(image, formats=(zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.QRCode),
                                   text_mode=zxingcpp.TextMode.Plain)
    assert [(r.symbology_identifier, r.text) for r in found] == [(aim, symbol.data)]
    [result] = found
    top = result.position.top_left
    narrowest = min(dark_runs([image.getpixel((x, top.y + 1)) < 128 for x in range(image.width)]))
    assert narrowest * 25.4 / dpi >= MIN_MATRIX_MM


def test_2d_label_image_refuses_what_cannot_fit():
    """Guards the 2D refusal the drivers turn into serial_does_not_fit: a QR code of 45 modules on 12 mm."""
    symbol = Symbol("qr", "https://id.gs1.org/01/09506000134352/21/" + "%2F" * 20)
    with pytest.raises(ValueError, match="does not fit"):
        label_image("SN", 141, 141, 300, symbol=symbol)
