"""The one exception root of the station, and refusals with stable codes.

Every refusal an operator or an API client can see carries a ``code`` from
SPEC 4/5 (stable, part of the API) and a sentence that says how to fix it.
"""
from __future__ import annotations


class StationError(Exception):
    """Root of every error the station raises on purpose; ``message`` is the sentence shown for it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigError(StationError):
    """The configuration file is missing a key, or holds a bad value."""


class Refusal(StationError):
    """An input the rules refuse. Nothing was written when this is raised."""

    #: HTTP status the API answers with when this refusal ends a request.
    status = 422

    def __init__(self, code: str, message: str, *, status: int | None = None):
        super().__init__(message)
        self.code = code
        if status is not None:
            self.status = status

    def __repr__(self) -> str:
        return f"Refusal({self.code!r}, {self.message!r})"


class NotFound(Refusal):
    """A record named by the caller does not exist."""

    status = 404


class Conflict(Refusal):
    """A record with that key exists already."""

    status = 409


class Invalid(Refusal):
    """Malformed input: wrong type, empty, too long, control characters."""

    status = 400
