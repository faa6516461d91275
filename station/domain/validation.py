"""Checks on text that comes from people and scanners: codes, names, serials."""
from __future__ import annotations

import re
from typing import Any

from .errors import Invalid
from .vocabulary import CODE_MAX, SERIAL_MAX
from .warranty import MAX_MONTHS

PARTY_PREFIXES = ("CMD:", "SUP:", "CUS:", "USR:")  # commands, parties, operator badges (SPEC 2)
# Quantities of one line or adjustment: far below what the integer columns hold.
QUANTITY_MAX = 1_000_000


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    """True when the text holds a control character (C0, DEL or C1)."""
    return _CONTROL.search(text) is not None


def is_printable(text: str) -> bool:
    return text.isprintable() and not has_control(text)


def could_be_key(value: Any, max_len: int) -> bool:
    """True when value could be a stored code, serial or reference; lookups check it first (PostgreSQL refuses NUL)."""
    return isinstance(value, str) and 0 < len(value) <= max_len and is_printable(value)


def require_text(value: str, field: str, *, max_len: int, allow_space: bool = True) -> str:
    """A non-empty printable string of at most max_len characters, trimmed."""
    value = value.strip()
    if not value:
        raise Invalid("invalid_field", f"{field} must not be empty.")
    if len(value) > max_len:
        raise Invalid("invalid_field", f"{field} is longer than {max_len} characters.")
    if not is_printable(value) or (not allow_space and " " in value):
        raise Invalid("invalid_field", f"{field} holds characters that cannot be printed.")
    return value


def require_code(value: str, field: str = "code") -> str:
    return require_text(value, field, max_len=CODE_MAX)


def require_name(value: str, field: str = "name") -> str:
    return require_text(value, field, max_len=200)


def require_quantity(value: int, field: str) -> int:
    """A quantity of one line or adjustment, far inside what the integer columns hold."""
    if not -QUANTITY_MAX <= value <= QUANTITY_MAX:
        raise Invalid("invalid_field", f"{field} must be between -{QUANTITY_MAX} and {QUANTITY_MAX}.")
    return value


def serial_text(value: str, *, document_pattern: re.Pattern[str] | None = None) -> str:
    """The serial as stored: trimmed, 1-64 printable characters, never scannable as something else.

    Whether it equals a product barcode needs the database; see rules.check_serial_text.
    """
    text = value.strip()
    if not text:
        raise Invalid("invalid_serial", "A serial must not be empty.")
    if len(text) > SERIAL_MAX:
        raise Invalid("invalid_serial", f"A serial has at most {SERIAL_MAX} characters; this one has {len(text)}.")
    if not is_printable(text):
        raise Invalid("invalid_serial", "A serial may hold only printable characters.")
    if text.upper().startswith(PARTY_PREFIXES):
        raise Invalid("invalid_serial", f"A serial may not start with {text[:4]}: it would be read as a command, "
                                        "a party or an operator's badge.")
    if document_pattern is not None and document_pattern.search(text):
        raise Invalid("invalid_serial",
                      f"{text} looks like a purchase order reference, so it could never be scanned as a serial.")
    return text


def require_warranty_months(value: int, field: str = "warranty_months") -> int:
    """A product's warranty: whole months from 0 (none) to 600 (SPEC 2)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MONTHS:
        raise Invalid("invalid_field",
                      f"{field} must be a whole number of months from 0 (no warranty) to {MAX_MONTHS}.")
    return value
