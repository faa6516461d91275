"""The document's text patterns say exactly what the server's own checks accept (web.contract.text, issue 25).

A pattern looser than the server lets a client send what is then refused as
malformed; a stricter one refuses what the server takes. Hypothesis draws
texts (whitespace, controls, format characters, unassigned code points,
astral planes) and each pattern must agree with the check it describes.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from station.domain.errors import Invalid
from station.domain.operators import check_code
from station.domain.validation import is_printable, require_text, serial_text
from web.contract import text

# Texts near the edges: mostly short, with the characters that make the rules differ.
EDGES = st.sampled_from([" ", "\t", "\n", "\x00", "\x85", "\xa0", "\u200b", "\u2028", "\u3000", "\ufeff", "\U000e0001",
                         "\U0010fffd", "\u0378", "a", "Z", "é", "中", "😀", "S", "ſ", "C", "U", "M", "D", "P", "R",
                         ":"])
TEXTS = st.lists(st.one_of(EDGES, st.characters(exclude_categories=["Cs"])), max_size=12).map("".join)


def matches(parts: list[dict[str, str]], value: str) -> bool:
    """Every pattern of an allOf holds."""
    return all(re.search(part["pattern"], value) for part in parts)


def accepts(check, value) -> bool:
    try:
        check(value)
    except Invalid:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(TEXTS)
@example(" " * 3 + "x" * 8 + "\t")
@example("x" * 9)
def test_trimmed_is_require_text(value):
    """trimmed(8) matches exactly the texts require_text takes at 8 characters (stripped, printable, not empty)."""
    assert matches(text.trimmed(8), value) == accepts(lambda v: require_text(v, "f", max_len=8), value)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
@example("usr:1")
@example(" ſup:x")
@example("CMD")
def test_serial_patterns_are_serial_text(value):
    """The new serial's trimmed pattern and its forbidden prefixes together are serial_text (without an order
    pattern, which the document takes from the configuration as it is)."""
    allowed = matches(text.trimmed(64), value) and not re.search(text.scannable_prefix(), value)
    assert allowed == accepts(serial_text, value)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
@example(" U17 ")
@example("U 17")
@example(" " + "U" * 64 + " ")
@example("U" * 65)
def test_badge_is_an_operators_code(value):
    """badge(64) is station.domain.operators.check_code: ASCII without spaces, 1-64 once stripped."""
    assert bool(re.search(text.badge(64), value)) == accepts(check_code, value)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_plain_is_a_query_text(value):
    """plain() with maxLength 8 is web.api.inputs.text_arg: empty, or at most 8 printable characters as they are."""
    assert (bool(re.search(text.plain(), value)) and len(value) <= 8) == (value == "" or (len(value) <= 8
                                                                                          and is_printable(value)))


@pytest.mark.parametrize("value,expected", [
    pytest.param("", True, id="empty"), pytest.param(" true ", True, id="spaced"),
    pytest.param("FALSE", True, id="caps"),
    pytest.param("1", True, id="one"), pytest.param("yes", False, id="yes"), pytest.param("2", False, id="two"),
    pytest.param("true\n", True, id="newline"), pytest.param("tru", False, id="short"),
])
def test_flag_is_bool_arg(value, expected):
    """The true/false query argument as bool_arg reads it."""
    assert bool(re.search(text.flag(), value)) == expected
    assert (value.strip().lower() in ("", "true", "1", "false", "0")) == expected
