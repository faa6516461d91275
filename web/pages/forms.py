"""What every page form shares: read its fields, answer refusals with their code, Post/Redirect/Get.

A form's view runs its change in one transaction (web.db.transaction). A
refusal rolls it back and becomes a flashed message: its sentence, with the
refusal code small after it (the flash's category carries it, ``error:CODE``);
either way the browser is redirected (303) to a page it can reload safely.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from math import ceil
from urllib.parse import parse_qsl, urlencode

from flask import flash, g, redirect, request
from sqlalchemy.exc import IntegrityError

from station.domain.errors import Refusal

PER_PAGE = 50
MAX_PAGE = 1_000_000


def field(name: str) -> str | None:
    """A form field, trimmed; empty or absent is None."""
    value = request.form.get(name, "").strip()
    return value or None


def checked(name: str) -> bool:
    return request.form.get(name) in ("on", "true", "1", "yes")


def user() -> str | None:
    """Who is changing data: the logged-in token's name, or nobody on a trusted screen."""
    return g.get("user")


def done(message: str) -> None:
    flash(message, "ok")


def refused(exc: Refusal) -> None:
    flash(f"Refused: {exc.message}", f"error:{exc.code}")


@contextmanager
def attempt() -> Iterator[None]:
    """Turn a refusal (or a race lost to another writer) into a message instead of an error page."""
    try:
        yield
    except Refusal as exc:
        refused(exc)
    except IntegrityError:
        refused(Refusal("conflict", "Someone changed the same record at the same moment: look again and retry."))


def back(url: str):
    """Post/Redirect/Get: 303 sends the browser to ``url`` with a GET."""
    return redirect(url, 303)


def page_arg(name: str = "page") -> int:
    """A page number from the query string; anything that is not one reads as page 1."""
    raw = request.args.get(name, "")
    if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 7:
        return min(max(int(raw), 1), MAX_PAGE)
    return 1


@dataclass(frozen=True)
class Pager:
    """One page of a long list, and links to its neighbours with the same filters."""

    page: int
    total: int
    per_page: int = PER_PAGE
    arg: str = "page"
    # The page's own URL, as links.py builds it (request.path is decoded: a '%41' in a key would be lost).
    base: str | None = None

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def url(self, page: int) -> str:
        path, _, query = (self.base or request.script_root + request.path).partition("?")
        args = {**request.args.to_dict(), **dict(parse_qsl(query)), self.arg: str(page)}
        return path + "?" + urlencode(args)
