"""The patterns of the document's text fields, built from the rules the server applies to them.

The server takes a code, a name or a serial when it is printable
(``str.isprintable``, station.domain.validation) once surrounding whitespace
(``str.strip``) is gone. A JSON Schema ``pattern`` can only say that by
listing characters, so the classes here are computed from this Python's own
Unicode tables: the document says exactly what this server accepts, and a
newer Python with more assigned characters gives a document that says so.

Patterns never end in ``$``: in Python's ``re`` it also matches before a
final newline, so they end in ``(?![\\s\\S])`` (nothing follows), which means
the end of the text in Python and in ECMA-262 alike.
"""
from __future__ import annotations

import re
from functools import lru_cache

from station.domain.validation import PARTY_PREFIXES

END = r"(?![\s\S])"
# Left out of every class: no UTF-8 text holds them, and Rust's regex (schemathesis validates with it) refuses a
# pattern naming them. A body holding one alone (JSON's "\ud800") is no text, refused as invalid_json.
_SURROGATES = range(0xD800, 0xE000)


def _ranges(predicate) -> list[tuple[int, int]]:
    """The code points for which ``predicate`` holds, as (first, last) ranges; surrogates left out."""
    found: list[tuple[int, int]] = []
    start = None
    for cp in range(0x110000 + 1):
        hit = cp < 0x110000 and cp not in _SURROGATES and predicate(chr(cp))
        if hit and start is None:
            start = cp
        elif not hit and start is not None:
            found.append((start, cp - 1))
            start = None
    return found


def _char(cp: int) -> str:
    """One character for a class: an escape for the ASCII ones (some are special), the character itself otherwise."""
    return f"\\x{cp:02x}" if cp < 0x80 else chr(cp)


def _class(ranges: list[tuple[int, int]]) -> str:
    return "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges)


@lru_cache(maxsize=1)
def _printable() -> str:
    return _class(_ranges(str.isprintable))


@lru_cache(maxsize=1)
def _solid() -> str:
    return _class(_ranges(lambda c: c.isprintable() and c != " "))


@lru_cache(maxsize=1)
def _space() -> str:
    """What ``str.strip()`` takes away (Python's whitespace)."""
    return _class(_ranges(str.isspace))


# The classes name the characters allowed, not those refused: a generator (Hypothesis, under schemathesis) builds a
# class character by character, and the printable ones are a seventh of the code points.
def printable() -> str:
    """A class of one printable character, space included."""
    return f"[{_printable()}]"


def solid() -> str:
    """A class of one printable character that is not a space."""
    return f"[{_solid()}]"


def space() -> str:
    return f"[{_space()}]"


def trimmed(max_len: int) -> str:
    """1 to ``max_len`` printable characters once the surrounding whitespace is stripped (``require_text``).

    The first kept character is not a space; what follows it, up to ``max_len`` in all, is printable; the rest is
    whitespace (a space kept inside, or trailing before more whitespace, is printable, so both readings agree).
    """
    ws = space()
    return f"^{ws}*{solid()}{printable()}{{0,{max_len - 1}}}{ws}*{END}"


def plain(max_len: int) -> str:
    """0 to ``max_len`` printable characters, taken as they are (a query argument: web.api.inputs.text_arg)."""
    return f"^{printable()}{{0,{max_len}}}{END}"


def badge(max_len: int) -> str:
    """An operator's code: 1 to ``max_len`` ASCII characters without spaces, surrounding whitespace stripped."""
    ws = space()
    return f"^{ws}*[!-~]{{1,{max_len}}}{ws}*{END}"


def scannable_prefix() -> str:
    """What a serial or barcode may not start with (after stripping, any case): it would scan as a command or party."""
    words = "|".join("".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in p)
                     for p in PARTY_PREFIXES)
    return f"^{space()}*(?:{words})"


def flag() -> str:
    """A true/false query argument as web.api.inputs.bool_arg reads it (any case, whitespace stripped; empty: unset)."""
    ws = space()
    return f"^{ws}*(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[01])?{ws}*{END}"
