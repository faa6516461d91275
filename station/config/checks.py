"""The checks a key's type cannot say, each named by the key that declares it (``key(..., check=...)``).

Each takes the value read, or the default when the key is left out (None for
a required key left out), and the place it was read, and returns the value
the station keeps or raises ConfigError with a sentence naming the key.
"""
from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from station.domain.errors import ConfigError
from station.domain.vocabulary import EventType
from station.domain.wording import plural

from .declare import Place

DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")
PARITIES = {"none": "N", "even": "E", "odd": "O", "mark": "M", "space": "S"}


def shown(value: Any) -> str:
    """A value as a refusal quotes it: text and numbers as written, anything else by its kind."""
    return repr(value) if isinstance(value, (str, int, float, bool)) else type(value).__name__


def nearest(name: str, known: list[str] | tuple[str, ...], listed: str = "known") -> str:
    """``: did you mean 'port'?`` for a near miss, else the names it could have been."""
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f": did you mean {near[0]!r}?" if near else f" ({listed}: {', '.join(known)})"


def identifier(value: Any, place: Place) -> str:
    """A station's or printer's id: what URLs, pages and other keys name it by."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
        raise ConfigError(f"{place.where}: id must be 1-64 letters, digits, '-', '_' or '.'")
    return value


def location_code(value: Any, place: Place) -> str:
    """A station's location: a location's code (SPEC 3c), whether it exists is asked when the station starts."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", value):
        raise ConfigError(f"{place.where}: location must be a location's code, 1-32 letters, digits, '-', '_' or '.'")
    return value


def database_url(value: str, place: Place) -> str:
    """``$STATION_DATABASE_URL``, else the file's url; a relative SQLite path is relative to the file."""
    url = os.environ.get("STATION_DATABASE_URL") or value
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in DATABASE_SCHEMES:
        raise ConfigError(f"database url {url.split('://')[0]}://... is not supported: use sqlite:///FILE "
                          "or postgresql+psycopg://HOST/DB")
    if place.source is not None and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///"):]
        if rel != ":memory:" and "STATION_DATABASE_URL" not in os.environ:
            url = "sqlite:///" + str((place.source.parent / rel).resolve())
    return url


def time_zone(value: str | None, place: Place) -> str | None:
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{place.where} timezone {value!r} is not a time zone: "
                              "use a name such as \"Europe/Berlin\"") from None
    return value


def pattern(value: str, place: Place) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ConfigError(f"{place.where} document_pattern is not a regular expression: {exc}") from None
    return value


def usb_ids(value: str | None, place: Place) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}", value):
        raise ConfigError(f"{place.where}: vendor_product is four hex digits, a colon and four more, as lsusb shows "
                          f"(\"0c2e:0b61\"), not {value!r}")
    return value


def parity(value: str, place: Place) -> str:
    """N, E, O, M or S, or the word (none, even...), in any case; the scanner keeps the letter."""
    if PARITIES.get(value.lower(), value.upper()) not in PARITIES.values():
        raise ConfigError(f"{place.where}: parity must be one of {', '.join(PARITIES)}, not {value!r}")
    return value


def webhook_url(value: str | None, place: Place) -> str:
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 2000:
        raise ConfigError(f"{place.where}: url must be an http:// or https:// address (at most 2000 characters), "
                          f"not {shown(value) if value is not None else 'missing'}")
    return value


def webhook_secret(value: str | None, place: Place) -> str:
    """``whsec_`` and the base64 of a 24-64 byte key (Standard Webhooks)."""
    if value is None or not value.startswith("whsec_"):
        raise ConfigError(f"{place.where}: secret must be \"whsec_\" and the base64 of a key of 24 to 64 random bytes, "
                          "such as one made by: python3 -c 'import base64, secrets; "
                          "print(\"whsec_\" + base64.b64encode(secrets.token_bytes(32)).decode())'")
    try:
        secret = base64.b64decode(value[len("whsec_"):], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{place.where}: secret after \"whsec_\" is not base64") from None
    if not 24 <= len(secret) <= 64:
        raise ConfigError(f"{place.where}: secret's key is {plural(len(secret), 'byte')}; "
                          "a Standard Webhooks key is 24 to 64 bytes")
    return value


def event_types(value: tuple[str, ...], place: Place) -> tuple[str, ...]:
    """Known event types, each once; an empty list is refused (leaving the key out means all)."""
    known = tuple(e.value for e in EventType)
    for name in value:
        if name not in known:
            raise ConfigError(f"{place.where}: unknown event type {name!r}{nearest(name, known)}")
    if not value:
        raise ConfigError(f"{place.where}: events is empty: name the event types to deliver, or leave it out for all")
    return tuple(dict.fromkeys(value))



def uri_base(name: str) -> Callable[[str | None, Place], str | None]:
    """The check of a key that starts the URIs the station writes: http(s)://host[:port][/path], kept without its
    last slash; no query, fragment, space or non-ASCII character."""
    def check(value: str | None, place: Place) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if (parts.scheme not in ("http", "https") or not parts.hostname or "?" in value or "#" in value
                or not value.isascii() or not value.isprintable() or " " in value or len(value) > 200):
            raise ConfigError(f"{place.where}: {name} must be the start of a URI, http:// or https://, a host and, "
                              f"if you like, a path (such as \"https://id.example.com/resolver\"), not {shown(value)}")
        return value.rstrip("/")
    return check
