"""Who may change data through the web: loopback trust, login, CSRF and bearer tokens (SPEC 5 "Security").

Theory of operation. Reading is open to whoever can reach the server (SPEC 1:
anyone on the LAN reads a serial's history). Writing depends on where the
request comes from:

- A loopback client (127.0.0.0/8, ::1) is trusted: it is the station's own
  screen, and by default (``[web] host = "127.0.0.1"``) the only client there is.
  Only while it names this server as a local one (``Host: localhost``,
  127.0.0.1, [::1] or the configured host): a page of another site whose
  name was rebound to 127.0.0.1 (DNS rebinding) gets no trust.
- Any other client needs credentials. An API write (``web.api.is_api_write``)
  takes ``Authorization: Bearer <token>``; a page form needs a login. The
  login's password is an API token and its user name is that token's name
  (``station token create NAME``): one kind of secret, made and revoked in one
  place. A logged-in page may also call the API (the operator screen posts its
  scans there) with its session cookie and the ``X-CSRF-Token`` header.
- Bound off loopback, ``create_app`` refuses to start until a token exists,
  so a LAN-facing station is never open to writes by mistake.

Every page form carries the session's CSRF token as a hidden ``csrf_token``
input, whoever the client is: a POST without it is 400. The API takes only
``Content-Type: application/json`` (web.api.inputs), which no cross-site form
can send, and the session cookie is ``SameSite=Lax``, so no other site's page
can write through the browser on the station's screen.

A reverse proxy on the same box would make every client look like loopback:
bind the station itself to the LAN address instead.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, g, jsonify, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from station.domain.errors import ConfigError
from station.domain.models import ApiToken
from station.domain.tokens import any_token, verify_token

from .api import is_api, is_api_write
from .db import EXTENSION, station_app

log = logging.getLogger(__name__)

SECRET_FILE = "secret_key"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints a stranger may POST to (with a CSRF token): logging in and out.
OPEN_ENDPOINTS = frozenset({"auth.login", "auth.logout"})

# No inline script may run, whatever a page shows: a defence behind autoescaping.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def host_is_loopback(host: str) -> bool:
    """True when binding ``host`` reaches loopback clients only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def is_loopback(addr: str | None) -> bool:
    """True for a client address on this machine (IPv4-mapped IPv6 included)."""
    if not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def load_secret_key(path: Path) -> str:
    """The session secret kept in ``path`` (mode 0600), made on first start; never in the repository.

    Made whole before it appears: written to a file of its own, then linked to ``path`` (which fails if another
    process made it meanwhile), so two servers starting at once on one data directory agree on one secret and
    neither reads a file still being written.
    """
    if not path.exists():
        try:
            _make_secret(path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        except OSError as exc:
            raise ConfigError(f"cannot create the session secret {path}: {exc.strerror}") from None
        else:
            log.info("made a new session secret in %s", path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"cannot read the session secret {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if len(text) < 32:
        raise ConfigError(f"{path} holds no usable session secret: delete it and restart to make a new one.")
    if path.stat().st_mode & 0o077:
        log.warning("%s was readable by others: made it 0600", path)
        os.chmod(path, 0o600)
    return text


def _make_secret(path: Path) -> None:
    """A new secret at ``path``, or FileExistsError when one is there already."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
        os.link(tmp, path)
    finally:
        os.unlink(tmp)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer made once per secret, not on every request."""

    def get_signing_serializer(self, app: Flask):
        key = app.secret_key
        cached = getattr(self, "_serializer", None)
        if cached is None or cached[0] != key:
            cached = self._serializer = (key, super().get_signing_serializer(app))
        return cached[1]


def init_security(app: Flask) -> None:
    """Secret key, cookie flags, the write guard and security headers; refuse an unguarded LAN bind."""
    station = app.extensions[EXTENSION]
    config = station.config
    if not host_is_loopback(config.web.host):
        _require_a_token(station, config.web.host)
    data_dir = Path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    app.secret_key = load_secret_key(data_dir / SECRET_FILE)
    app.config.update(
        SESSION_COOKIE_NAME="station_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.session_interface = _SessionInterface()
    app.jinja_env.autoescape = True  # every template, whatever its name
    app.before_request(_guard)
    app.after_request(_headers)
    app.add_template_global(csrf_token)  # a global, so imported form macros see it too
    app.context_processor(lambda: {"can_edit": can_edit(), "current_user": g.get("user"),
                                   "trusted": g.get("trusted", False)})


def _require_a_token(station, host: str) -> None:
    """Off loopback, refuse to start until a token exists (none could write from the LAN otherwise)."""
    try:
        with station.Session() as s:
            found = any_token(s)
    except OperationalError as exc:
        # ``station run`` starts while the database is away; no token can be checked then
        # either, so every write from the LAN is refused until it is back.
        log.warning("cannot check for API tokens yet (database unavailable: %s)", exc.orig)
        return
    if not found:
        raise ConfigError(
            f"[web] host = {host!r} serves other machines, and writes from them need a token: "
            "run 'station token create NAME' first (or bind 127.0.0.1)."
        )


def csrf_token() -> str:
    """The session's CSRF token, made on first use; every form puts it in a hidden input."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def _csrf_ok(sent: str | None) -> bool:
    expected = session.get(CSRF_FIELD)
    return bool(sent and expected) and hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


def _session_user() -> str | None:
    """The logged-in user, while the token they logged in with still exists."""
    name, token_id = session.get("user"), session.get("token_id")
    if not name or token_id is None:
        return None
    with request_session() as s:
        found = s.scalar(select(ApiToken.id).where(ApiToken.id == token_id, ApiToken.name == name))
    if found is None:
        session.pop("user", None)
        session.pop("token_id", None)
        return None
    return name


def request_session():
    """A short session of its own: the guard runs before the view opens the request's transaction."""
    return station_app().Session()


def can_edit() -> bool:
    """True when this request may change data through the pages."""
    return bool(g.get("trusted") or g.get("user"))


def log_in(token: ApiToken) -> None:
    """Start a login session; a fresh CSRF token, so one planted before the login is worthless."""
    session.clear()
    session["user"] = token.name
    session["token_id"] = token.id
    csrf_token()


def log_out() -> None:
    session.clear()


def bearer_user() -> str | None:
    """The name of the valid token this request carries as ``Authorization: Bearer``, else None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    with request_session() as s:
        row = verify_token(s, token.strip())
        return row.name if row is not None else None


def unauthorized(message: str) -> Response:
    """401 in the API's JSON, asking for a bearer token (for a read that is not open to every client: /metrics)."""
    return _unauthorized_json(message)


def _unauthorized_json(message: str) -> Response:
    response = jsonify({"error": {"code": "unauthorized", "message": message}})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="station"'
    return response


@lru_cache(maxsize=1024)
def is_trusted(remote_addr: str | None, host_header: str, bound_host: str) -> bool:
    """The station's own screen: a loopback client naming this server by a local name (not a rebound one).

    A pure function of three strings, asked on every request with the same few: remembered.
    """
    if not is_loopback(remote_addr):
        return False
    try:
        name = urlsplit("//" + host_header).hostname or ""
    except ValueError:  # a Host header no URL could hold
        return False
    return host_is_loopback(name) or name == bound_host.strip("[]").lower()


def _guard():
    """Before every request: who is asking, and may they write?"""
    g.trusted = is_trusted(request.remote_addr, request.host, station_app().config.web.host)
    g.user = None
    if request.routing_exception is not None:
        return None  # no view takes it (404, 405): routing answers, and nothing is written
    if request.method in SAFE_METHODS:
        if session.get("user"):
            g.user = _session_user()
        return None
    if is_api_write(request):
        return _guard_api()
    if is_api(request):
        return None  # TRACE and the like: no view takes them, and routing answers 405 in JSON
    return _guard_form()


def _guard_api():
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return _unauthorized_json("Send the token as 'Authorization: Bearer <token>'.")
        with request_session() as s:
            row = verify_token(s, token.strip())
            if row is None:
                return _unauthorized_json("That token is not valid (revoked, or mistyped).")
            g.user = row.name
        return None
    if session.get("user"):
        user = _session_user()
        if user is not None and _csrf_ok(request.headers.get(CSRF_HEADER)):
            g.user = user
            return None
    if g.trusted:
        return None
    return _unauthorized_json(
        "Writes from another machine need a token: 'Authorization: Bearer <token>' (station token create NAME)."
    )


def _guard_form():
    if not _csrf_ok(request.form.get(CSRF_FIELD)):
        return render_template(
            "error.html", status=400, code="csrf",
            message="This form's security token is missing or out of date: reload the page and send it again.",
        ), 400
    if session.get("user"):
        g.user = _session_user()
    if g.trusted or g.user or request.endpoint in OPEN_ENDPOINTS:
        return None
    return render_template("login.html", next=_referrer_path(),
                           message="Log in to change data from this machine."), 401


def _referrer_path() -> str:
    """The page the refused form was on, to return to after the login (this site's pages only)."""
    parts = urlsplit(request.referrer or "")
    if parts.netloc != request.host or not parts.path.startswith("/"):
        return ""
    return parts.path + ("?" + parts.query if parts.query else "")


SECURITY_HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                    ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"))


def _headers(response: Response) -> Response:
    headers = response.headers
    for name, value in SECURITY_HEADERS:
        if name not in headers:
            headers.add(name, value)
    return response
