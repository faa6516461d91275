"""What a scan answers (SPEC 5), and the raw text as it is stored and shown."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
