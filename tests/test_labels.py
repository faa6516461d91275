"""Labels and command sheets: every barcode drawn must scan back, through a real reader, as exactly its text."""

from __future__ import annotations

import re
import string
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import barcode
import pytest
import zxingcpp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from station.printing.labels import COMMANDS, DEFAULT_SIZE, MIN_MODULE_MM, Label, LabelSize, module_width_for, png, svg
from station.printing.sheets import file_stem, sheet_html, write_sheet

XSS = "<img src=x onerror=alert(1)>"
FORTY = "SN-2024-ACME-WIDGET-X-0000000123-LOT-B07"
SIXTY_FOUR = "SERIAL-" + "AbCdEfGhIj" * 5 + "-1234567"
STOCK_100x50 = LabelSize(100, 50)


def decode(path: Path) -> list[tuple[str, str]]:
    """What zxing-cpp reads in an image file: (format, text) per symbol found."""
    with Image.open(path) as image:
        return [(result.format.name, result.text) for result in zxingcpp.read_barcodes(image)]


def rasterize_svg(markup: str, px_per_mm: int = 40) -> Image.Image:
    """Draw the bars of one of our SVGs (rects positioned in mm) onto a bitmap."""
    root = ET.fromstring(markup)
    mm = lambda value: float(value.removesuffix("mm"))  # noqa: E731
    image = Image.new("L", (round(mm(root.get("width")) * px_per_mm), 20 * px_per_mm // 10), 255)
    draw = ImageDraw.Draw(image)
    for rect in root.iter("{http://www.w3.org/2000/svg}rect"):
        if rect.get("x") is None:
            continue  # the white background
        left = round(mm(rect.get("x")) * px_per_mm)
        right = round((mm(rect.get("x")) + mm(rect.get("width"))) * px_per_mm)
        draw.rectangle([(left, 0), (right - 1, image.height - 1)], fill=0)
    return image


class TagCollector(HTMLParser):
    """Every start tag of a page with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(page: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = TagCollector()
    collector.feed(page)
    collector.close()
    return collector.tags


def test_command_sheet_scans(tmp_path):
    """Guards the command sheet: every CMD:, SUP: and CUS: PNG it writes reads back exactly, nothing else written."""
    labels = [Label(text, caption) for text, caption in COMMANDS]
    labels += [Label("SUP:ACME", "Acme Ltd"), Label("CUS:WALKIN", "Walk-in customer")]
    paths = write_sheet(labels, tmp_path / "commands", title="Commands")
    assert paths[0] == tmp_path / "commands" / "index.html"
    pngs = {path.name: path for path in paths if path.suffix == ".png"}
    assert sorted(pngs) == sorted(f"{file_stem(label.text)}.png" for label in labels)
    for label in labels:
        assert decode(pngs[f"{file_stem(label.text)}.png"]) == [("Code128", label.text)]
    assert sorted(p.name for p in (tmp_path / "commands").iterdir()) == sorted(p.name for p in paths)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        pytest.param("SN/2024//7", DEFAULT_SIZE, id="slashes"),
        pytest.param("A B", DEFAULT_SIZE, id="space"),
        pytest.param("sn-lower-7x", DEFAULT_SIZE, id="lower_case"),
        pytest.param("100%", DEFAULT_SIZE, id="percent"),
        pytest.param("<b>&amp;'\"</b>", DEFAULT_SIZE, id="markup_short"),
        pytest.param("ABCDEFGHIJKLMNOPQ", DEFAULT_SIZE, id="longest_text_at_50x25"),
        pytest.param("1" * 32, DEFAULT_SIZE, id="longest_digits_at_50x25"),
        pytest.param("SUP:ACME", DEFAULT_SIZE, id="supplier"),
        pytest.param("CUS:WALKIN", DEFAULT_SIZE, id="customer"),
        pytest.param(XSS, STOCK_100x50, id="markup_long"),
        pytest.param(FORTY, STOCK_100x50, id="forty_chars"),
        pytest.param(SIXTY_FOUR, None, id="sixty_four_on_sheet"),
    ],
)
def test_serial_label_scans_and_fits(tmp_path, text, size):
    """Guards serial labels: awkward serials scan back exactly, and the PNG is no wider than the label."""
    paths = write_sheet([Label(text, "Widget X")], tmp_path, title="Serials", size=size)
    [png_path] = [path for path in paths if path.suffix == ".png"]
    assert decode(png_path) == [("Code128", text)]
    with Image.open(png_path) as image:
        width_mm = image.width / image.info["dpi"][0] * 25.4
    assert width_mm <= (170 if size is None else size.width_mm - 2)


@pytest.mark.parametrize("text", ["99", "9999", "991234", "99SN", "1299", "SN-9999"])
def test_a_leading_digit_pair_99_is_kept(tmp_path, text):
    """Guards against python-barcode's start-code folding, which dropped a leading "99": "991234" scanned as "1234"."""
    assert decode(png(text, tmp_path / "label.png", max_width_mm=48, module_height_mm=16)) == [("Code128", text)]


@given(st.text(alphabet=string.printable[:95], min_size=1, max_size=17))
@example("99")
@settings(max_examples=100, deadline=None)
def test_any_printable_text_scans_at_50x25(tmp_path_factory, text):
    """Guards Code 128 charset switching (digit runs, A/B shifts): any text that fits 50x25 scans back exactly."""
    path = png(text, tmp_path_factory.mktemp("any") / "label.png", max_width_mm=48, module_height_mm=16)
    assert decode(path) == [("Code128", text)]


def test_png_with_text_scans(tmp_path):
    """Guards show_text: the human-readable line under the bars does not stop the barcode scanning."""
    path = png("SN/2024//7", tmp_path / "with-text.png", show_text=True)
    bare = png("SN/2024//7", tmp_path / "bare.png")
    assert decode(path) == [("Code128", "SN/2024//7")]
    with Image.open(path) as image, Image.open(bare) as plain:
        assert image.height > plain.height and image.info["dpi"][0] == pytest.approx(300, abs=0.01)


@pytest.mark.parametrize("text", ["CMD:FINISH", "SN/2024//7", XSS])
def test_svg_scans(text):
    """Guards the SVG, which the HTML sheet and /labels print: its bars, drawn as given, read back exactly."""
    assert zxingcpp.read_barcodes(rasterize_svg(svg(text)))[0].text == text


def test_svg_is_inline_and_escaped():
    """Guards embedding svg() in a page: no XML declaration or DOCTYPE, and a serial's markup stays text."""
    markup = svg(XSS, show_text=True)
    assert markup.startswith("<svg") and "<?xml" not in markup and "DOCTYPE" not in markup
    assert "<img" not in markup and 'id="' not in markup
    root = ET.fromstring(markup)
    assert root.get("aria-label") == XSS
    assert [node.text for node in root.iter("{http://www.w3.org/2000/svg}text")] == [XSS]
    modules = len(barcode.get_barcode_class("code128")(XSS).build()[0]) + 2 * 10  # quiet zones
    assert float(root.get("width").removesuffix("mm")) == pytest.approx(module_width_for(XSS) * modules, abs=1e-3)


@pytest.mark.parametrize("size", [None, DEFAULT_SIZE], ids=["sheet", "stock_50x25"])
def test_html_escapes_text(size):
    """Guards the printed page and /labels: text, caption and title from barcodes can never become markup."""
    labels = [Label("<i>x</i>", "<script>alert(1)</script>"), Label("A&B", "Tom & Jerry")]
    page = sheet_html(labels, title="<b>Sheet</b>", size=size)
    assert {tag for tag, _ in tags_of(page)} <= {
        "html", "head", "meta", "title", "style", "body", "h1", "main", "div", "svg", "g", "rect",
    }
    assert "&lt;i&gt;x&lt;/i&gt;" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "A&amp;B" in page and "&lt;b&gt;Sheet&lt;/b&gt;" in page


def test_html_escapes_image_src():
    """Guards the <img> form of the sheet: a hostile image URL stays one attribute value."""
    page = sheet_html([Label("SN-1", "")], title="t", image_src=lambda label: 'x" onerror="alert(1)')
    [img] = [attrs for tag, attrs in tags_of(page) if tag == "img"]
    assert img["src"] == 'x" onerror="alert(1)' and "onerror" not in img and img["alt"] == "SN-1"


def test_page_css_matches_stock():
    """Guards printing: label stock gets one label per page of its exact size, the sheet a grid."""
    stock = sheet_html([Label("SN-1", "Widget"), Label("SN-2", "Widget")], title="t", size=LabelSize(57, 32))
    assert "@page { size: 57mm 32mm; margin: 0 }" in stock and "break-after: page" in stock
    assert stock.count('<div class="label">') == 2
    sheet = sheet_html([Label("CMD:SELL", "Sell"), Label(SIXTY_FOUR, "long")], title="t")
    assert "display: grid" in sheet and "@page { size" not in sheet
    assert sheet.count('<div class="label">') == 1 and sheet.count('<div class="label wide">') == 1


def test_file_names_stay_inside_out_dir(tmp_path):
    """Guards write_sheet against path traversal and collisions from serials with /, .., spaces or case."""
    texts = ["../../etc/passwd", "..", ".", "/abs", "SN/2024//7", "SN 2024 7", "sn-2024-7", "SN-2024-7", " "]
    out_dir = tmp_path / "out"
    paths = write_sheet([Label(text) for text in texts], out_dir, title="t", size=DEFAULT_SIZE)
    assert len(paths) == 1 + 2 * len(texts) == len(set(paths))
    for path in paths:
        assert path.resolve().parent == out_dir.resolve()
        assert re.fullmatch(r"index\.html|[a-z0-9-]+-[0-9a-f]{10}\.(png|svg)", path.name)
    assert sorted(out_dir.iterdir()) == sorted(paths)
    assert list(tmp_path.iterdir()) == [out_dir]


def test_file_stem_of_unicode_and_lookalikes():
    """Guards file naming for serials Code 128 cannot print: unicode and lookalikes still get distinct safe names."""
    texts = ["Ünïcode-1", "Unicode-1", "unicode-1", "序列号", "😀", "a/b", "a b", "a..b", "x" * 300]
    stems = [file_stem(text) for text in texts]
    assert len(set(stems)) == len(texts)
    assert all(re.fullmatch(r"[a-z0-9-]{1,40}-[0-9a-f]{10}", stem) for stem in stems)
    assert file_stem("Ünïcode-1").startswith("unicode-1-") and file_stem("序列号").startswith("label-")


@pytest.mark.parametrize(
    ("text", "size"),
    [
        pytest.param(SIXTY_FOUR, DEFAULT_SIZE, id="sixty_four_at_50x25"),
        pytest.param(FORTY, DEFAULT_SIZE, id="forty_at_50x25"),
        pytest.param("ABCDEFGHIJKLMNOPQR", DEFAULT_SIZE, id="eighteen_at_50x25"),
        pytest.param("x" * 77, None, id="seventy_seven_on_sheet"),
        pytest.param("SN-1", LabelSize(50, 12), id="label_too_low"),
        pytest.param("Ü-1", None, id="not_ascii"),
        pytest.param("SN\x1d1", None, id="control_character"),
        pytest.param("", None, id="empty"),
    ],
)
def test_impossible_label_raises_and_writes_nothing(tmp_path, text, size):
    """Guards against printing labels no scanner reads: a clear ValueError before any file is written."""
    with pytest.raises(ValueError, match=r"fit|too low|ASCII|needs a text"):
        write_sheet([Label("CMD:SELL", "Sell"), Label(text, "Widget")], tmp_path / "out", title="t", size=size)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("size", "any_text", "digits"),
    [
        (LabelSize(38, 25), 12, 22),
        (LabelSize(50, 25), 17, 32),
        (LabelSize(57, 32), 21, 40),
        (LabelSize(100, 50), 41, 80),
        (None, 76, 150),
    ],
    ids=["38x25", "50x25", "57x32", "100x50", "sheet"],
)
def test_documented_length_limits(size, any_text, digits):
    """Guards the module docstring's table of how many characters fit on each stock."""
    for alphabet, limit in (("Ab", any_text), ("7", digits)):
        text = (alphabet * 200)[:limit]
        assert module_width_for(text, size) >= MIN_MODULE_MM
        with pytest.raises(ValueError):
            module_width_for(text + alphabet[0], size)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("50x25", (50, 25)), ("57 x 32mm", (57, 32)), ("100X50", (100, 50)), ("38x25", (38, 25)), ("62.5x29", (62.5, 29))],
)
def test_label_size_parse(spec, expected):
    """Guards the --size option: the usual ways to write a label stock read as width x height in mm."""
    assert LabelSize.parse(spec) == LabelSize(*expected)
    assert LabelSize(50, 25) == DEFAULT_SIZE and str(DEFAULT_SIZE) == "50x25"


@pytest.mark.parametrize("spec", ["50", "x25", "0x25", "50x0", "50x25x3", "-5x25", "fifty"])
def test_label_size_parse_rejects(spec):
    """Guards the --size option against sizes that would silently produce nonsense."""
    with pytest.raises(ValueError):
        LabelSize.parse(spec)
