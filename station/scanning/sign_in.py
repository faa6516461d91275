"""Who is signed in at a station (SPEC 4 "Operators"): decided on the scan path, from the station's row.

An operator signs in with their badge (``USR:<code>``, a new badge replaces
whoever was signed in) and out with ``CMD:LOGOUT``; who it is is stored
with the station's state row (station_row.py), so it survives a restart.
``operator_idle_minutes`` signs them out after that long without a scan:
decided when the next scan comes (``current``), never by a timer, so a
station that nobody touches changes nothing and a restart changes nothing
either; the station's view applies the same rule when it is read, so the
screen and ``GET /api/stations/<id>`` stop naming someone who has lapsed.
A deactivated operator is signed out the same way at the next scan.

With ``require_operator`` every scan but a badge is refused with
``operator_required`` while nobody is signed in (``gate``): before the state
machine, since it is about who scans, not what.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from station.domain.errors import Refusal
from station.domain.wording import plural
from station.scan_core.reading import Kind, Reading

SIGN_IN_PROMPT = "Scan your operator badge (USR:...) to sign in."


@dataclass(frozen=True)
class SignedIn:
    """The operator signed in at a station, and their last scan there."""

    id: int
    code: str
    name: str
    seen_at: datetime


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def current(signed: SignedIn | None, idle_minutes: int | None,
            now: datetime) -> tuple[SignedIn | None, SignedIn | None]:
    """(who is signed in now, who lapsed): the stored operator, unless ``idle_minutes`` passed since their last scan."""
    if signed is None or not idle_minutes:
        return signed, None
    if now - _aware(signed.seen_at) >= timedelta(minutes=idle_minutes):
        return None, signed
    return signed, None


def gate(reading: Reading, signed: SignedIn | None, required: bool, lapsed: SignedIn | None,
         idle_minutes: int | None) -> None:
    """Refuse ``operator_required`` for all but a badge while nobody is signed in at a station that requires one."""
    if not required or signed is not None or reading.kind is Kind.operator:
        return
    if lapsed is not None:
        raise Refusal("operator_required", f"{lapsed.name} was signed out after {plural(idle_minutes, 'minute')} "
                                           "without a scan: scan your operator badge (USR:...) to sign in again.")
    raise Refusal("operator_required", "Nobody is signed in at this station: scan your operator badge (USR:...) first.")


def user_of(signed: SignedIn | None, fallback: str | None) -> str | None:
    """Who a line, movement and scan record (SPEC 2): the operator's code, else the caller's (a token's name)."""
    return signed.code if signed is not None else fallback


def prompt(base: str, signed: SignedIn | None, required: bool) -> str:
    """The station's prompt: while a station that requires an operator has none, the sign-in comes first."""
    if required and signed is None:
        return SIGN_IN_PROMPT
    return base


def as_json(signed: SignedIn | None) -> dict[str, Any] | None:
    """SPEC 5's ``"operator"`` of a station: ``{"code", "name"}`` or null."""
    return None if signed is None else {"code": signed.code, "name": signed.name}
