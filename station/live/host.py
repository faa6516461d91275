"""The Host header of an HTTP/1.1 request, checked before anything is carried out (RFC 9112, section 3.2).

A server must answer 400 to an HTTP/1.1 request that lacks a Host header,
has more than one, or has one whose value is no host (RFC 3986's host, with
an optional port). uvicorn's parser lets such a request through, and Flask
would then make up a host from the listening address: the request would be
carried out, trusted as the station's own screen when it came from
loopback. So the station's server refuses it first, in JSON under ``/api``
(the API answers JSON always) and in plain text elsewhere, and closes the
connection. HTTP/1.0 has no such rule: a request without Host is served.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

# RFC 3986: an IP literal in brackets, or a reg-name / IPv4 address; then an optional port of digits.
_HOST = re.compile(rb"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(:[0-9]*)?")


def problem(scope: dict[str, Any]) -> str | None:
    """Why this request's Host header is not one an HTTP/1.1 request must have, or None when it is fine."""
    if scope.get("http_version") != "1.1":
        return None
    hosts = [value for name, value in scope.get("headers", ()) if name.lower() == b"host"]
    if not hosts:
        return "An HTTP/1.1 request needs a Host header naming this server (RFC 9112, section 3.2)."
    if len(hosts) > 1:
        return f"The request has {len(hosts)} Host headers; an HTTP/1.1 request has exactly one."
    if not _HOST.fullmatch(hosts[0].strip()):
        return (f"The Host header {hosts[0].strip().decode('latin-1')!r} is not a host name or address with an "
                "optional port.")
    return None


async def refuse(scope: dict[str, Any], send: Callable, message: str) -> None:
    """400 with ``message``: the API's JSON error under /api, plain text elsewhere; the connection closes."""
    path = scope.get("path", "")
    if path == "/api" or path.startswith("/api/"):
        body = json.dumps({"error": {"code": "bad_request", "message": message}}).encode()
        kind = b"application/json"
    else:
        body = (message + "\n").encode()
        kind = b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": 400, "headers": [
        (b"content-type", kind), (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})
