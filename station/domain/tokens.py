"""API tokens: made once, shown once, stored only as a hash (SPEC 5 "Security").

A token is 32 random bytes (``secrets.token_urlsafe``), so a plain SHA-256 of
it is enough to store: there is nothing to guess that a slow hash would
protect. The database holds only the hash; whoever reads it cannot call the
API. Off loopback a token is the bearer credential of API writes, and also
the password of the page login (the token's name is the user name).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Conflict, NotFound
from .models import ApiToken
from .validation import require_text

PREFIX = "stn_"
# A token longer than this is not one of ours: refuse it before hashing.
MAX_TOKEN = 200


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str) -> str:
    """Store a new token called ``name`` and return its text: the only time it is ever seen."""
    name = require_text(name, "name", max_len=64, allow_space=False)
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise Conflict("duplicate", f"A token called {name} exists already: revoke it first, or pick another name.")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token)))
    session.flush()
    return token


def verify_token(session: Session, token: str | None) -> ApiToken | None:
    """The token's record when ``token`` is a valid token, else None."""
    if not token or len(token) > MAX_TOKEN:
        return None
    digest = hash_token(token)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup already matched the hash; compare again in constant time for good measure.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row


def verify_login(session: Session, name: str, token: str) -> ApiToken | None:
    """The token called ``name`` when ``token`` is its text (the page login), else None."""
    row = verify_token(session, token)
    if row is None or not hmac.compare_digest(row.name.encode("utf-8"), name.encode("utf-8")):
        return None
    return row


def any_token(session: Session) -> bool:
    """True once at least one token exists: off loopback the server starts only then."""
    return session.scalar(select(ApiToken.id).limit(1)) is not None


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))


def revoke_token(session: Session, name: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise NotFound("unknown_token", f"There is no token called {name}.")
    session.delete(row)
    session.flush()

