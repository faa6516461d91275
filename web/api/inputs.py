"""What a request brings: its JSON body and its query arguments, checked before any domain code runs.

Writes take only ``Content-Type: application/json`` (so no page of another
site can post to a loopback station through a browser) and at most
:data:`MAX_BODY` bytes; the body must be one JSON object of valid Unicode.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flask import request

from station.domain.errors import Invalid, Refusal
from station.domain.validation import is_printable

MAX_BODY = 4096
PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000


class RequestRefused(Refusal):
    """A request the API refuses for its form, not its content (too large, not JSON), with its own status."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(code, message)
        self.status = status


def _too_large() -> Refusal:
    return RequestRefused("too_large", f"The request body is over {MAX_BODY} bytes.", 413)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_unicode(value: Any) -> None:
    """Refuse unpaired surrogates (\\ud800): no database can store them. Iterative: bodies nest deep."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                raise Invalid("invalid_json", "The body holds an unpaired surrogate (\\ud800-\\udfff): not valid text.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def json_body(allowed: Iterable[str] | None = None) -> dict[str, Any]:
    """The request's JSON object; ``allowed`` names the only keys it may hold."""
    if request.mimetype != "application/json":
        raise RequestRefused("unsupported_media_type", "Send the body as Content-Type: application/json.", 415)
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise RequestRefused("unsupported_media_type", "Send the body in UTF-8.", 415)
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _too_large()
    data = request.get_data(cache=True)
    if len(data) > MAX_BODY:
        raise _too_large()
    try:
        body = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Invalid("invalid_json", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Invalid("invalid_json", "The body must be a JSON object.")
    _check_unicode(body)
    if allowed is not None:
        only(body, allowed)
    return body


def only(body: dict[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """``body``, refused with ``unknown_field`` when it holds a key not in ``allowed``."""
    unknown = set(body) - set(allowed)
    if unknown:
        raise Invalid("unknown_field", f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))}.")
    return body


def int_arg(name: str, default: int, *, lo: int, hi: int, digits: int = 9) -> int:
    """A whole number from ``lo`` to ``hi`` in at most ``digits`` ASCII digits; ``default`` when absent (``name=``
    is no number)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= digits) or not lo <= int(raw) <= hi:
        raise Invalid("invalid_field", f"{name} must be a whole number from {lo} to {hi}.")
    return int(raw)


def page_args(per_page: int = PER_PAGE) -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1-200) from the query string."""
    return (int_arg("page", 1, lo=1, hi=MAX_PAGE),
            int_arg("per_page", per_page, lo=1, hi=MAX_PER_PAGE))


def bool_arg(name: str) -> bool | None:
    """``true``/``false`` (or 1/0); absent or empty is None."""
    raw = request.args.get(name, "").strip().lower()
    if raw == "":
        return None
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise Invalid("invalid_field", f"{name} must be true or false.")


def text_arg(name: str, max_len: int = 64) -> str | None:
    """A printable text argument; absent or empty is None."""
    raw = request.args.get(name, "")
    if raw == "":
        return None
    if len(raw) > max_len or not is_printable(raw):
        raise Invalid("invalid_field", f"{name} must be at most {max_len} printable characters.")
    return raw


def paged(name: str, items: list[Any], page: int, per_page: int, total: int) -> dict[str, Any]:
    """A page of a list, as every list of the API answers."""
    return {name: items, "page": page, "per_page": per_page, "total": total}
