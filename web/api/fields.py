"""Typed values out of a JSON body: the web edge checks types, so the domain is handed str, bool and int.

Each getter names the field in its refusal (400 ``invalid_field`` unless a
code is given); what a value must be beyond its type (a code's length, a
serial's characters) is the domain's to check.
"""
from __future__ import annotations

from typing import Any

from station.domain.errors import Invalid
from station.domain.serials import KEEP, Ref

_MISSING = object()


def _kind(value: Any) -> str:
    return "null" if value is None else {bool: "true/false", int: "a number", float: "a number", list: "a list",
                                         dict: "an object"}.get(type(value), type(value).__name__)


def text(body: dict[str, Any], field: str, *, code: str = "invalid_field") -> str:
    """A required text."""
    value = body.get(field, _MISSING)
    if value is _MISSING:
        raise Invalid(code, f"{field} is required.")
    if not isinstance(value, str):
        raise Invalid(code, f"{field} must be a text, not {_kind(value)}.")
    return value


def optional_text(body: dict[str, Any], field: str) -> str | None:
    """A text, or None when the field is absent."""
    return text(body, field) if field in body else None


def flag(body: dict[str, Any], field: str, default: bool | None = None) -> bool | None:
    """true or false; ``default`` when absent."""
    if field not in body:
        return default
    value = body[field]
    if not isinstance(value, bool):
        raise Invalid("invalid_field", f"{field} must be true or false.")
    return value


def whole(body: dict[str, Any], field: str) -> int:
    """A required whole number (not true/false, not 1.5). ``5.0`` is one: JSON has one kind of number, and JSON
    Schema's ``integer`` (the OpenAPI document's) is any number without a fraction."""
    value = body.get(field)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid("invalid_field", f"{field} must be a whole number.")
    return value


def optional_whole(body: dict[str, Any], field: str, default: int | None = None) -> int | None:
    """A whole number, or ``default`` when the field is absent."""
    return whole(body, field) if field in body else default


def texts(body: dict[str, Any], field: str) -> list[str] | None:
    """A list of texts, or None when the field is absent."""
    if field not in body:
        return None
    value = body[field]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("invalid_field", f"{field} must be a list of texts.")
    return value


def ref(body: dict[str, Any], field: str) -> Ref:
    """A code of a record to set, null to clear, or KEEP when the field is absent (PATCH)."""
    if field not in body:
        return KEEP
    value = body[field]
    if value is not None and not isinstance(value, str):
        raise Invalid("invalid_field", f"{field} must be a code or null.")
    return value
