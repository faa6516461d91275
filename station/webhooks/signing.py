"""Signing a webhook delivery as the Standard Webhooks specification gives it (SPEC 5 "Integration").

Headers ``webhook-id`` (the event id: the same on every attempt, so a
receiver drops a repeat), ``webhook-timestamp`` (Unix seconds of this
attempt) and ``webhook-signature``: ``v1,`` and the base64 of HMAC-SHA256
over ``id.timestamp.body``, keyed with the secret's decoded key (``whsec_``
+ base64). The signature is made by the ``standardwebhooks`` package, the
specification's own reference library (MIT, no dependencies, kept by the
Standard Webhooks team), rather than by hand: a receiver verifying with any
of its ports reads exactly what it signs. The tests check it independently
with ``hmac``.
"""
from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks import Webhook

CONTENT_TYPE = "application/json"
USER_AGENT = "barcode-station-webhooks/1"


def signed_headers(secret: str, event_id: int, body: bytes, at: datetime | None = None) -> dict[str, str]:
    """The headers of one delivery attempt of ``body`` (the exact bytes sent) for the event ``event_id``."""
    at = (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    msg_id = str(event_id)
    signature = Webhook(secret).sign(msg_id, at, body.decode("utf-8"))
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature,
            "content-type": CONTENT_TYPE, "user-agent": USER_AGENT}
