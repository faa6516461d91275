"""The one exception root of the station, and refusals with stable codes.

Every refusal an operator or an API client can see carries a ``code`` from
SPEC 4/5 (stable, part of the API) and a sentence that says how to fix it.
"""
from __future__ import annotations

from typing import TypeVar

_T = TypeVar("_T")

class StationError(Exception):
    """Root of every error the station raises on purpose; ``message`` is the sentence shown for it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigError(StationError):
    """The configuration file is missing a key, or holds a bad value."""


class Refusal(StationError):
    """An input the rules refuse. Nothing was written when this is raised."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code

    def __repr__(self) -> str:
        return f"Refusal({self.code!r}, {self.message!r})"


class NotFound(Refusal):
    """A record named by the caller does not exist."""

    @classmethod
    def unless(cls, found: _T | None, code: str, message: str) -> _T:
        """``found``, or this refusal (``code``, ``message``) when it is None: a reader's "this one, or 404"."""
        if found is None:
            raise cls(code, message)
        return found


class Conflict(Refusal):
    """A record with that key exists already."""


class Invalid(Refusal):
    """Malformed input: wrong type, empty, too long, control characters."""
