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


@lru_cache(maxsize=1)
def _tables() -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]], dict[str, str]]:
    """One pass over Unicode: the printable ranges, the printable-but-not-space ones, the whitespace ones, and each
    ASCII capital with the characters that upper-case to it (``ſ`` is an S)."""
    printable: list[tuple[int, int]] = []
    solid: list[tuple[int, int]] = []
    space: list[tuple[int, int]] = []
    upper: dict[str, str] = {}
    for cp in range(0x110000):
        if cp in _SURROGATES:
            continue
        c = chr(cp)
        if c.isprintable():
            _add(printable, cp)
            if cp != 0x20:
                _add(solid, cp)
        if c.isspace():
            _add(space, cp)
        up = c.upper()
        if len(up) == 1 and "A" <= up <= "Z":
            upper[up] = upper.get(up, "") + c
    return printable, solid, space, upper


def _add(ranges: list[tuple[int, int]], cp: int) -> None:
    if ranges and ranges[-1][1] == cp - 1:
        ranges[-1] = (ranges[-1][0], cp)
    else:
        ranges.append((cp, cp))


def _char(cp: int) -> str:
    """One character for a class: an escape for the ASCII ones (some are special), the character itself otherwise."""
    return f"\\x{cp:02x}" if cp < 0x80 else chr(cp)


def _class(ranges: list[tuple[int, int]]) -> str:
    return "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges)


@lru_cache(maxsize=1)
def _printable() -> str:
    return _class(_tables()[0])


@lru_cache(maxsize=1)
def _solid() -> str:
    return _class(_tables()[1])


@lru_cache(maxsize=1)
def _space() -> str:
    """What ``str.strip()`` takes away (Python's whitespace)."""
    return _class(_tables()[2])


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


def trimmed(max_len: int) -> list[dict[str, str]]:
    """1 to ``max_len`` printable characters once the surrounding whitespace is stripped (``require_text``).

    Two patterns, both to hold: what the text is made of (the same pattern for every field, so a generator builds
    its large classes once), and how long it is once stripped (small classes only).
    """
    return [{"pattern": stripped_printable()}, {"pattern": stripped_length(max_len)}]


def stripped_printable() -> str:
    """Whitespace, a printable character that is not a space, printable ones, whitespace. A space kept inside, or
    trailing before more whitespace, is printable, so the stripped text is the part from the first class on."""
    ws = space()
    return f"^{ws}*{solid()}{printable()}*{ws}*{END}"


def stripped_length(max_len: int) -> str:
    """At most ``max_len`` characters from the first that is not whitespace to the last."""
    ws, other = space(), f"[^{_space()}]"
    return f"^{ws}*(?:[\\s\\S]{{0,{max_len - 1}}}{other})?{ws}*{END}"


def plain() -> str:
    """Printable characters, taken as they are (a query argument: web.api.inputs.text_arg); the length is the
    schema's maxLength."""
    return f"^{printable()}*{END}"


def badge(max_len: int) -> str:
    """An operator's code: 1 to ``max_len`` ASCII characters without spaces, surrounding whitespace stripped."""
    ws = space()
    return f"^{ws}*[!-~]{{1,{max_len}}}{ws}*{END}"


@lru_cache(maxsize=1)
def scannable_prefix() -> str:
    """What a serial or barcode may not start with once stripped, in any case (``text.upper().startswith``): it would
    scan as a command, a party or a badge. Each letter's class holds every character that upper-cases to it."""
    words = "|".join("".join(_upper_class(c) for c in p) for p in PARTY_PREFIXES)
    return f"^{space()}*(?:{words})"


def _upper_class(letter: str) -> str:
    if not letter.isalpha():
        return re.escape(letter)
    return "[" + _tables()[3].get(letter, letter) + "]"


def flag() -> str:
    """A true/false query argument as web.api.inputs.bool_arg reads it (any case, whitespace stripped; empty: unset)."""
    ws = space()
    return f"^{ws}*(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[01])?{ws}*{END}"
