"""Template filters: times as the operator reads them, and the words for kinds and modes."""
from __future__ import annotations

WORDS = {
    "purchase_order": "Purchase order",
    "receipt": "Receipt",
    "sale": "Sale",
    "customer_return": "Customer return",
    "supplier_return": "Return to supplier",
    "adjustment": "Adjustment",
    "refused_scan": "Refused scan",
    "receive": "Receiving",
    "sell": "Selling",
    "return": "Returning",
}


def words(value: str | None) -> str:
    """``customer_return`` as "Customer return"; anything unknown as itself."""
    if value is None:
        return ""
    return WORDS.get(value, value.replace("_", " ").capitalize())


def when(stamp: str | None) -> str:
    """An API timestamp (``2026-11-26T10:15:02Z``) as ``2026-11-26 10:15:02`` (UTC)."""
    if not stamp:
        return ""
    return stamp.replace("T", " ").rstrip("Z")


def clock(stamp: str | None) -> str:
    """Only the time of day, for the operator screen's recent scans."""
    return when(stamp)[11:] if stamp else ""


def cut(text: str | None, limit: int) -> str:
    """At most ``limit`` characters, "…" marking a cut: a 600-character scan must not push the list away."""
    if not text:
        return ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def register(app) -> None:
    for fn in (words, when, clock, cut):
        app.add_template_filter(fn)
