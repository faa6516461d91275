"""A location's GLN (SPEC 5 Traceability): 13 digits whose last is GS1's check digit, optional on a location.

A GLN names the place to everyone else (EPCIS events say ``https://id.gs1.org/414/<GLN>``), so one that is
mistyped would name someone else's: it is checked here, once, before it is stored, by biip's GS1 check digit
(the mod-10 rule of the GS1 General Specifications). A GLN is stored exactly as given: no spaces, no shorter
form, so the record, the URI and the uniqueness of the column all compare the same 13 characters.
"""
from __future__ import annotations

from biip import ParseError
from biip.gln import Gln

from .errors import Invalid, Refusal

LENGTH = 13


def is_valid(gln: str) -> bool:
    """13 ASCII digits whose check digit is right."""
    return problem(gln) is None


def problem(gln: str) -> str | None:
    """What is wrong with ``gln`` as one sentence, or None when it is a GLN."""
    if not isinstance(gln, str) or len(gln) != LENGTH or not gln.isascii() or not gln.isdigit():
        return f"A GLN is {LENGTH} digits (the last its check digit)."
    try:
        Gln.parse(gln)
    except ParseError:
        expected = _check_digit(gln[:-1])
        return f"GLN {gln} has the wrong check digit: its last digit should be {expected}, not {gln[-1]}."
    return None


def check(gln: str) -> str:
    """``gln`` when it is 13 digits with a right check digit, else ``invalid_field`` naming what is wrong.

    Not 13 digits is malformed (400: the API's document says so with a pattern). 13 digits with a wrong check
    digit is well-formed as the document can say it (no pattern holds a check digit), so it is refused as a value
    the rules say no to (422), as a schema-driven client or fuzzer expects of input its schema calls valid."""
    wrong = problem(gln)
    if wrong is not None:
        shaped = isinstance(gln, str) and len(gln) == LENGTH and gln.isascii() and gln.isdigit()
        raise (Refusal if shaped else Invalid)("invalid_field", wrong)
    return gln


def _check_digit(payload: str) -> int:
    """GS1's mod-10 check digit of ``payload``: weights 3 and 1 alternating from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return (10 - total % 10) % 10
