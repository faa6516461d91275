"""``/labels``: sheets to print: the scan commands, and labels for serials typed in.

The sheets are station.printing.sheets' own printable pages (inline Code 128 SVG, every
text escaped), served as they are. Making a sheet changes nothing, so its
form is a GET.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request

from station.printing import labels, sheets

from .serials import SEARCH_MAX

bp = Blueprint("labels", __name__)

MAX_LABELS = 200
SIZES = ("sheet", "50x25", "57x32", "100x50", "38x25")


@bp.get("/labels")
def index():
    return render_template("labels.html", sizes=SIZES, serials="", problem=None, size="sheet")


@bp.get("/labels/commands")
def commands():
    sheet = sheets.sheet_html([labels.Label(text, caption) for text, caption in labels.COMMANDS],
                              title="Station commands")
    return sheet, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/labels/serials")
def serials():
    """A sheet (or label stock) of the serials typed in, one a line."""
    text = request.args.get("serials", "")[:MAX_LABELS * (SEARCH_MAX + 2)]
    size_name = request.args.get("size", "sheet")
    texts = [line.strip() for line in text.splitlines() if line.strip()][:MAX_LABELS]
    problem = None
    if not texts:
        problem = "Type at least one serial, one a line."
    elif size_name not in SIZES:
        problem = f"Pick a label size: {', '.join(SIZES)}."
    else:
        size = None if size_name == "sheet" else labels.LabelSize.parse(size_name)
        try:
            sheet = sheets.sheet_html([labels.Label(t) for t in texts], title="Serial labels", size=size)
        except ValueError as exc:
            problem = str(exc)
        else:
            return sheet, 200, {"Content-Type": "text/html; charset=utf-8"}
    return render_template("labels.html", sizes=SIZES, serials=text, problem=problem, size=size_name), 400
