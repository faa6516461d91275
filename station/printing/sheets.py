"""Printable sheets: an HTML page of labels (A4/Letter, or one label a page of label stock), with a PNG and SVG each.

A label is a Code 128 (``labels``) or a serial's DataMatrix or QR code
(``matrix``), its caption above and its text under it. Every text on the page
is escaped; the barcodes are inline SVG or ``<img>`` of the files written
beside the page.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from . import matrix
from .labels import (
    EDGE_MM,
    SHEET_CELL_MM,
    TEXT_LINE_MM,
    Label,
    LabelSize,
    fit_module,
    layout,
    module_count,
    module_width_for,
    png,
    svg,
)


def file_stem(text: str) -> str:
    """A safe file name stem for `text`: lower-case ASCII letters, digits, dashes and a hash of the exact text."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{slug or 'label'}-{digest}"


def matrix_side_for(size: LabelSize | None) -> float:
    """The largest square (mm) a 2D symbol may take on `size` stock (None: the sheet), caption above, text under."""
    if size is None:
        return matrix.SHEET_SIDE_MM
    room = min(size.width_mm - 2 * EDGE_MM, size.height_mm - 2 * EDGE_MM - 2 * TEXT_LINE_MM - 1.0)
    if room <= 0:
        raise ValueError(f"{size} mm labels are too small for a 2D code with its text")
    return room


def check_fits(label: Label, size: LabelSize | None = None) -> None:
    """ValueError, saying why, when `label` cannot be drawn on `size` stock (None: the sheet)."""
    if label.two_d:
        matrix.module_mm(label.symbol, matrix_side_for(size))
    else:
        module_width_for(label.text, size)


_CSS_SHEET = """\
@page { margin: 12mm }
body { font-family: sans-serif; margin: 0 }
.labels { display: grid; grid-template-columns: repeat(2, 1fr); gap: 6mm }
.label { border: 0.3mm dashed #999; padding: 4mm; break-inside: avoid;
  display: flex; flex-direction: column; align-items: center; gap: 2mm }
.label.wide { grid-column: 1 / -1 }
.caption { font-weight: bold; font-size: 14pt }
.text { font: 10pt monospace; overflow-wrap: anywhere; text-align: center }
@media screen { body { margin: 8mm } }
"""

_CSS_STOCK = """\
@page {{ size: {w}mm {h}mm; margin: 0 }}
html, body {{ margin: 0; padding: 0 }}
.label {{ width: {w}mm; height: {h}mm; box-sizing: border-box; padding: {edge}mm;
  overflow: hidden; display: flex; flex-direction: column; align-items: center;
  justify-content: center; break-after: page; page-break-after: always }}
.label:last-child {{ break-after: auto; page-break-after: auto }}
.label > svg, .label > img {{ display: block; flex: none }}
.caption, .text {{ max-width: 100%; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; line-height: {line}mm; font-size: 7pt }}
.caption {{ font-family: sans-serif; font-weight: bold }}
.text {{ font-family: monospace }}
@media screen {{
  body {{ background: #ddd; padding: 5mm }}
  .label {{ background: #fff; margin-bottom: 3mm; outline: 1px solid #999 }}
  .screen-only {{ display: block }}
}}
@media print {{ .screen-only {{ display: none }} }}
"""


def _drawn(label: Label, size: LabelSize | None) -> tuple[float, float, str]:
    """The label's symbol as drawn on `size` stock (None: the sheet): its width and height in mm, and its SVG."""
    if label.two_d:
        side_mm = matrix_side_for(size)
        width = matrix.module_mm(label.symbol, side_mm) * matrix.side(label.symbol)
        return width, width, matrix.svg(label.symbol, side_mm)
    max_width, bar = layout(size)
    width = fit_module(label.text, max_width) * module_count(label.text)
    return width, bar, svg(label.text, module_height_mm=bar, max_width_mm=max_width)


def sheet_html(
    labels: Sequence[Label],
    *,
    title: str,
    size: LabelSize | None = None,
    image_src: Callable[[Label], str] | None = None,
) -> str:
    """A printable page: a grid on A4/Letter (size None), else one label per page of `size`.

    Each barcode is inline SVG, or an ``<img>`` of ``image_src(label)``; every text is escaped.
    """
    parts = []
    for label in labels:
        width, height, inline = _drawn(label, size)
        if image_src is None:
            image = inline
        else:
            image = (
                f'<img src="{html.escape(image_src(label))}" alt="{html.escape(label.text)}"'
                f' style="width:{width:.3f}mm;height:{height:.3f}mm">'
            )
        wide = " wide" if size is None and width > SHEET_CELL_MM else ""
        caption = f'<div class="caption">{html.escape(label.caption)}</div>' if label.caption else ""
        parts.append(
            f'<div class="label{wide}">{caption}{image}'
            f'<div class="text">{html.escape(label.text)}</div></div>'
        )
    if size is None:
        css, heading = _CSS_SHEET, f"<h1>{html.escape(title)}</h1>"
    else:
        css = _CSS_STOCK.format(
            w=f"{size.width_mm:g}", h=f"{size.height_mm:g}", edge=f"{EDGE_MM:g}", line=f"{TEXT_LINE_MM:g}"
        )
        heading = f'<h1 class="screen-only">{html.escape(title)} ({size} mm)</h1>'
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{css}</style>\n</head>\n<body>\n"
        f'{heading}\n<main class="labels">\n' + "\n".join(parts) + "\n</main>\n</body>\n</html>\n"
    )


def write_sheet(
    labels: Sequence[Label],
    out_dir: Path,
    *,
    title: str,
    size: LabelSize | None = None,
) -> list[Path]:
    """Write a PNG and an SVG per label and `index.html` into `out_dir`; returns the paths, HTML first.

    Everything is checked before the first file is written, so a label that
    cannot fit leaves `out_dir` as it was.
    """
    page = sheet_html(labels, title=title, size=size, image_src=lambda label: f"{_stem(label)}.svg")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for label in {(label.text, label.symbol): label for label in labels}.values():
        stem = _stem(label)
        if label.two_d:
            side_mm = matrix_side_for(size)
            written.append(matrix.png(label.symbol, out_dir / f"{stem}.png", max_side_mm=side_mm))
            drawn = matrix.svg(label.symbol, side_mm)
        else:
            max_width, bar = layout(size)
            written.append(png(label.text, out_dir / f"{stem}.png", module_height_mm=bar, max_width_mm=max_width))
            drawn = svg(label.text, module_height_mm=bar, max_width_mm=max_width)
        svg_path = out_dir / f"{stem}.svg"
        svg_path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + drawn + "\n", encoding="utf-8")
        written.append(svg_path)
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return [index, *written]


def _stem(label: Label) -> str:
    """The file name stem of a label's drawings: its text's, and its symbology's for a 2D one."""
    return file_stem(label.text) + (f"-{label.symbol.symbology}" if label.two_d else "")
