"""What a scan answers (SPEC 5), and the raw text as it is stored and shown."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson


@dataclass(frozen=True)
class ScanResult:
    """The answer to one scan, as the API sends it."""

    accepted: bool
    code: str | None
    message: str
    prompt: str
    document: dict[str, Any] | None = None
    read_as: str | None = None
    station: str = ""
    replayed: bool = field(default=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "code": self.code, "message": self.message,
                "prompt": self.prompt, "document": self.document}

    @cached_property
    def json_text(self) -> str:
        """``as_json()`` encoded, once: the scan log keeps it (the answer a key's replay gives) and the API sends the
        same text. A serial's answer carries its document's counts and last lines, and encoding it was some 15% of
        an HTTP scan's CPU when the log and the response each did it (issue 22); orjson encodes it in a tenth of the
        standard library's time (0.01 against 0.12 ms for an answer with 50 lines), as UTF-8, not \\u escapes."""
        return orjson.dumps(self.as_json()).decode()

    @classmethod
    def replayed_from(cls, text: str, *, station: str, read_as: str | None) -> ScanResult:
        """The answer kept in the scan log, given again: the same text, decoded once for its fields."""
        result = cls(station=station, read_as=read_as, replayed=True, **json.loads(text))
        result.__dict__["json_text"] = text  # what cached_property would make of it: the kept text itself
        return result


def escape_raw(raw: bytes | str, limit: int = 4096) -> str:
    """The raw scan as storable, printable text: undecodable bytes, controls and lone surrogates escaped.

    Every database stores the result (no NUL, no unpaired surrogate); pages
    still HTML-escape it when they show it.
    """
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="backslashreplace")
    out = raw[:limit]
    if not out.isprintable():  # most scans are: nothing to escape
        out = "".join(c if c.isprintable() else _escape_char(c) for c in out)
    return out + ("…" if len(raw) > limit else "")


def _escape_char(c: str) -> str:
    o = ord(c)
    if o < 0x100:
        return f"\\x{o:02x}"
    return f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"
