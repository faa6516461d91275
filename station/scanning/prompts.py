"""Words for the operator: what a scan did, and what to scan next.

Every answer pairs a message (what happened) with a prompt (what to do
next), e.g. "Widget X: 3 of 5 received. Scan the next serial."
"""
from __future__ import annotations

from dataclasses import dataclass

from .machine import Phase, State

DOCUMENT_WORDS = {
    "receipt": "Receipt",
    "sale": "Sale",
    "customer_return": "Customer return",
    "supplier_return": "Return to supplier",
}
DONE_WORDS = {"receipt": "received", "sale": "sold", "customer_return": "returned", "supplier_return": "returned"}


@dataclass(frozen=True)
class Facts:
    """What the prompt needs from the database, gathered by the service."""

    reference: str | None = None
    party: str | None = None
    order: str | None = None
    product_units: int = 0  # units of the chosen product on this document
    expected: int | None = None  # on the purchase order, for the chosen product
    received_before: int = 0  # posted against the order already
    offline_held: int = 0


def _count(state: State, facts: Facts) -> str:
    done = DONE_WORDS.get(state.document_kind, "scanned")
    units = facts.product_units + facts.received_before
    if facts.expected is not None:
        return f"{state.product.name}: {units} of {facts.expected} {done}."
    return f"{state.product.name}: {units} {done}."


def prompt(state: State, facts: Facts) -> str:
    """What to scan next, in the station's present state."""
    if facts.offline_held:
        return f"Offline: {facts.offline_held} scans held. They will be processed when the database is back."
    phase = state.phase
    if phase is Phase.idle:
        return {
            "receive": "Receiving. Scan a supplier (SUP:...) or a purchase order.",
            "sell": "Selling. Scan a customer (CUS:...), a product or a serial.",
            "return": "Returns. Scan the sold serial (scan SUP:... first for a return to the supplier).",
        }[state.mode]
    if phase is Phase.awaiting_serial:
        head = _count(state, facts) + " " if state.document_kind == "receipt" else f"{state.product.name}: "
        return head + "Scan the serial."
    if phase is Phase.sticky:
        if facts.expected is not None and facts.product_units + facts.received_before >= facts.expected:
            return _count(state, facts) + " All expected units are in: scan another product or CMD:FINISH."
        return _count(state, facts) + " Scan the next serial, another product, or CMD:FINISH."
    title = DOCUMENT_WORDS.get(state.document_kind, "Document")
    who = f" {'from' if state.document_kind in ('receipt',) else 'for'} {facts.party}" if facts.party else ""
    against = f" against {facts.order}" if facts.order else ""
    lines = f", {state.lines} line{'s' if state.lines != 1 else ''}" if state.lines else ""
    if state.document_kind == "receipt":
        nxt = "Scan a product." if not state.lines else "Scan a product, or CMD:FINISH to post."
    elif state.document_kind == "sale":
        nxt = "Scan a product or a serial." if not state.lines else "Scan the next product or serial, or CMD:FINISH to post."
    else:
        nxt = "Scan the serial coming back." if not state.lines else "Scan the next serial, or CMD:FINISH to post."
    return f"{title} {facts.reference}{who}{against}{lines}. {nxt}"


def message(event: str, state: State, facts: Facts, *, posted: str | None = None, text: str = "") -> str:
    """What a scan just did, in a sentence."""
    if event == "mode_set":
        return {"receive": "Mode: receiving.", "sell": "Mode: selling.", "return": "Mode: returns."}[state.mode]
    if event == "posted":
        return f"Posted {posted}."
    if event == "cancelled":
        return "Document cancelled; its serials are free again."
    if event == "undone":
        return "Last line removed."
    if event == "product_dropped":
        return "Product choice dropped."
    if event == "document_opened":
        return f"Opened {DOCUMENT_WORDS.get(state.document_kind, 'document').lower()} {facts.reference}."
    if event == "product_chosen":
        return f"{state.product.name} chosen."
    if event in ("line_added", "serial_attached"):
        return f"Added {text}." if text else "Added."
    return ""
