"""How a count is worded in what the station says: "1 line", "3 lines", "1 delivery", never "line(s)".

Every message, prompt, page and command output that counts something words
it through ``plural`` (the pages as the ``plural`` template filter), so the
singular is never forgotten where the count can be 1.
"""
from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and ``noun`` in its singular or plural: "1 minute", "0 minutes", "2 deliveries".

    ``nouns`` is the plural where it is not ``noun`` + "s" ("delivery", "deliveries").
    """
    return f"{count} {noun if abs(count) == 1 else (nouns if nouns is not None else noun + 's')}"
