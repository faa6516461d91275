"""SPEC 5 "Security": loopback trust, tokens off loopback, login, CSRF, the session secret, headers.

On SQLite and PostgreSQL. "Off loopback" is an app bound to 0.0.0.0 and a
test client whose REMOTE_ADDR is a LAN address; the station's own screen is
REMOTE_ADDR 127.0.0.1 (the test client's default).
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from station.cli.main import cli
from station.config import Config, DatabaseConfig, StationConfig, WebConfig
from station.domain import catalogue, tokens
from station.domain.errors import ConfigError, Conflict, NotFound
from station.domain.models import ApiToken, Movement, SerialNumber
from web.app import create_app
from web.security import CSP, host_is_loopback, is_loopback, load_secret_key

LAN = {"REMOTE_ADDR": "192.0.2.10"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def state_dir(tmp_path, monkeypatch) -> Path:
    """Where the session secret goes (as systemd's STATE_DIRECTORY would say)."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    return tmp_path


def make_app(db, host: str = "127.0.0.1"):
    config = Config(database=DatabaseConfig(db.url), web=WebConfig(host=host),
                    stations=(StationConfig("till", "sell"),))
    return create_app(config, engine=db.engine)


@pytest.fixture
def token(db) -> str:
    """A token called ``alice``."""
    with db.Session.begin() as s:
        return tokens.create_token(s, "alice")


@pytest.fixture
def lan_app(db, state_dir, token):
    return make_app(db, "0.0.0.0")


def lan_client(app):
    """A browser on another machine of the LAN."""
    client = app.test_client()
    client.environ_base.update(LAN)
    return client


@pytest.fixture
def lan(lan_app):
    return lan_client(lan_app)


def csrf(client) -> str:
    client.get("/login")
    with client.session_transaction() as session:
        return session["csrf_token"]


def login(client, name: str, token: str):
    return client.post("/login", data={"name": name, "token": token, "next": "/serials",
                                       "csrf_token": csrf(client)})


def serial_exists(db, text: str) -> bool:
    with db.Session() as s:
        return s.scalar(select(SerialNumber.id).where(SerialNumber.serial == text)) is not None


# --- where the server may listen ---------------------------------------------------------


@pytest.mark.parametrize(
    "host, loopback",
    [
        pytest.param("127.0.0.1", True, id="ipv4_loopback"),
        pytest.param("127.1.2.3", True, id="ipv4_loopback_range"),
        pytest.param("::1", True, id="ipv6_loopback"),
        pytest.param("[::1]", True, id="ipv6_bracketed"),
        pytest.param("localhost", True, id="localhost"),
        pytest.param("0.0.0.0", False, id="every_ipv4_address"),
        pytest.param("::", False, id="every_ipv6_address"),
        pytest.param("192.168.1.20", False, id="lan_address"),
        pytest.param("station.local", False, id="host_name"),
    ],
)
def test_host_is_loopback(host, loopback):
    """Guards against a LAN-facing bind being mistaken for loopback (and left without tokens)."""
    assert host_is_loopback(host) is loopback


@pytest.mark.parametrize(
    "addr, loopback",
    [
        pytest.param("127.0.0.1", True, id="ipv4"),
        pytest.param("::1", True, id="ipv6"),
        pytest.param("::ffff:127.0.0.1", True, id="ipv4_mapped"),
        pytest.param("192.0.2.10", False, id="lan"),
        pytest.param("::ffff:192.0.2.10", False, id="lan_mapped"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="none"),
        pytest.param("not-an-address", False, id="garbage"),
    ],
)
def test_is_loopback_client(addr, loopback):
    """Guards against trusting a client that is not on this machine."""
    assert is_loopback(addr) is loopback


def test_off_loopback_refuses_to_start_without_a_token(db, state_dir):
    """Guards against a LAN-facing station starting open to writes because no token was made yet."""
    with pytest.raises(ConfigError, match="station token create"):
        make_app(db, "0.0.0.0")
    make_app(db, "127.0.0.1")  # loopback needs none


def test_off_loopback_starts_once_a_token_exists(db, state_dir, token):
    """Guards against the start-up check refusing a properly set-up station."""
    assert make_app(db, "0.0.0.0") is not None


# --- API writes ------------------------------------------------------------------------------


def test_loopback_api_write_needs_no_token(db, state_dir):
    """Guards against the default (loopback) station asking its own screen for a token."""
    client = make_app(db).test_client()
    assert client.post("/api/serials", json={"serial": "L-1"}).status_code == 201


def test_off_loopback_api_write_without_token_is_401(lan, db):
    """Guards against an API write from the LAN being taken without a token."""
    response = lan.post("/api/serials", json={"serial": "N-1"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert not serial_exists(db, "N-1")
    scan = lan.post("/api/stations/till/scans", json={"data": "CMD:RECEIVE"})
    assert scan.status_code == 401
    # A write without a body too (its 401 is in the OpenAPI document: the contract client checks it).
    assert lan.delete("/api/products/WID-1/barcodes/036000291452").status_code == 401


def test_off_loopback_api_write_with_bearer_token_passes(lan, db, token):
    """Guards against a valid bearer token being refused."""
    response = lan.post("/api/serials", json={"serial": "T-1"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    assert serial_exists(db, "T-1")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer stn_wrong", id="wrong_token"),
        pytest.param("Bearer ", id="empty_token"),
        pytest.param("Basic YWxpY2U6eA==", id="other_scheme"),
        pytest.param("Bearer " + "x" * 500, id="over_long"),
    ],
)
def test_bad_bearer_token_is_401_even_on_loopback(db, state_dir, token, header):
    """Guards against a wrong token passing (on loopback too: a token that is given is checked)."""
    for client in (lan_client(make_app(db, "0.0.0.0")), make_app(db).test_client()):
        response = client.post("/api/serials", json={"serial": "B-1"}, headers={"Authorization": header})
        assert response.status_code == 401
    assert not serial_exists(db, "B-1")


def test_revoked_token_stops_working(lan, db, token):
    """Guards against a revoked token still writing."""
    with db.Session.begin() as s:
        tokens.revoke_token(s, "alice")
    response = lan.post("/api/serials", json={"serial": "R-1"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_off_loopback_reads_need_no_token(lan):
    """Guards against locking the LAN out of reading (SPEC 1: anyone on the LAN reads a serial's history)."""
    assert lan.get("/api/serials").status_code == 200
    assert lan.get("/serials").status_code == 200
    assert lan.get("/stations/till").status_code == 200


# --- page forms: CSRF and login -----------------------------------------------------------------


def test_form_without_csrf_token_is_400_on_loopback(db, state_dir):
    """Guards against a form post without its CSRF token changing data, even from the trusted screen."""
    client = make_app(db).test_client()
    csrf(client)
    response = client.post("/serials", data={"action": "create", "serial": "C-1"})
    assert response.status_code == 400
    wrong = client.post("/serials", data={"action": "create", "serial": "C-1", "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert not serial_exists(db, "C-1")


def test_form_without_csrf_token_is_400_off_loopback(lan, db, token):
    """Guards against a logged-in LAN user's browser being made to post a form by another site."""
    login(lan, "alice", token)
    response = lan.post("/serials", data={"action": "create", "serial": "C-2"})
    assert response.status_code == 400
    assert not serial_exists(db, "C-2")


def test_off_loopback_form_needs_a_login(lan, db):
    """Guards against a LAN client changing data through the pages without logging in."""
    page = lan.get("/serials").get_data(as_text=True)
    assert 'value="create"' not in page and "needs a login" in page
    response = lan.post("/serials", data={"action": "create", "serial": "C-3", "csrf_token": csrf(lan)},
                        headers={"Referer": "http://localhost/serials?q=C"})
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert 'action="/login"' in html
    assert 'name="next" value="/serials?q=C"' in html  # back to that page once logged in
    assert not serial_exists(db, "C-3")


def test_login_with_token_then_forms_work_and_name_the_user(lan, db, token):
    """Guards against the login not letting the user edit, or their name not reaching the history."""
    response = login(lan, "alice", token)
    assert response.status_code == 303 and response.headers["Location"] == "/serials"
    page = lan.get("/serials").get_data(as_text=True)
    assert 'value="create"' in page and "alice" in page
    form = {"csrf_token": csrf(lan)}
    lan.post("/serials", data={**form, "action": "create", "serial": "U-1"})
    lan.post("/serials", data={**form, "action": "adjust", "serial": "U-1", "direction": "in", "reason": "found"})
    with db.Session() as s:
        assert s.scalar(select(Movement.user)) == "alice"


@pytest.mark.parametrize(
    "name, password",
    [
        pytest.param("alice", "stn_wrong", id="wrong_token"),
        pytest.param("bob", None, id="token_of_another_name"),
        pytest.param("", "", id="empty"),
    ],
)
def test_login_refused(lan, token, name, password):
    """Guards against logging in with a wrong token, or with a right token under another name."""
    response = login(lan, name, token if password is None else password)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    page = lan.get(response.headers["Location"]).get_data(as_text=True)
    assert "Refused: " in page and "(login_failed)" in page
    with lan.session_transaction() as session:
        assert "user" not in session


def test_login_without_csrf_token_is_400(lan, token):
    """Guards against login CSRF (another site logging the screen in as someone else)."""
    assert lan.post("/login", data={"name": "alice", "token": token}).status_code == 400


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(lan, token, target):
    """Guards against the login's ``next`` being an open redirect."""
    response = lan.post("/login", data={"name": "alice", "token": token, "next": target, "csrf_token": csrf(lan)})
    assert response.headers["Location"] == "/"


def test_login_rotates_the_csrf_token(lan, token):
    """Guards against a CSRF token planted before the login staying valid after it."""
    before = csrf(lan)
    login(lan, "alice", token)
    assert csrf(lan) != before


def test_revoking_the_token_ends_the_login(lan, db, token):
    """Guards against a login outliving the token it was made with."""
    login(lan, "alice", token)
    with db.Session.begin() as s:
        tokens.revoke_token(s, "alice")
    response = lan.post("/serials", data={"action": "create", "serial": "X-1", "csrf_token": csrf(lan)})
    assert response.status_code == 401


def test_logout(lan, token):
    """Guards against logging out leaving the session able to write."""
    login(lan, "alice", token)
    lan.post("/logout", data={"csrf_token": csrf(lan)})
    response = lan.post("/serials", data={"action": "create", "serial": "X-2", "csrf_token": csrf(lan)})
    assert response.status_code == 401


def test_logged_in_page_may_call_the_api_with_its_csrf_header(lan, db, token):
    """Guards against the operator screen's scan box failing off loopback, or a cookie alone sufficing."""
    login(lan, "alice", token)
    alone = lan.post("/api/stations/till/scans", json={"data": "CMD:RECEIVE", "source": "web"})
    assert alone.status_code == 401
    with_header = lan.post("/api/stations/till/scans", json={"data": "CMD:RECEIVE", "source": "web"},
                           headers={"X-CSRF-Token": csrf(lan)})
    assert with_header.status_code == 200 and with_header.get_json()["accepted"] is True


def test_api_takes_only_json(db, state_dir):
    """Guards against a cross-site HTML form (urlencoded, no preflight) writing through the API."""
    client = make_app(db).test_client()
    response = client.post("/api/serials", data={"serial": "F-1"})
    assert response.status_code == 415
    assert not serial_exists(db, "F-1")


# --- the session secret, cookies and headers -------------------------------------------------------


def test_session_secret_made_once_beside_the_data_mode_0600(db, state_dir):
    """Guards against a secret in the repository, a world-readable one, or a new one at every start."""
    app = make_app(db)
    secret = state_dir / "secret_key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert app.secret_key == secret.read_text().strip() and len(app.secret_key) >= 64
    assert make_app(db).secret_key == app.secret_key


def test_session_secret_permissions_are_repaired(db, state_dir):
    """Guards against keeping a secret file others can read."""
    secret = state_dir / "secret_key"
    secret.write_text("a" * 64)
    os.chmod(secret, 0o644)
    assert make_app(db).secret_key == "a" * 64
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_servers_starting_at_once_agree_on_one_whole_secret(tmp_path):
    """Guards against a second server reading the secret file while the first is still writing it (it refused to
    start: "holds no usable session secret"), or each making its own."""
    for round_ in range(20):
        path = tmp_path / f"secret_key-{round_}"
        start = threading.Barrier(8)

        def load(start=start, path=path):
            start.wait()
            return load_secret_key(path)

        with ThreadPoolExecutor(8) as pool:
            got = set(pool.map(lambda _: load(), range(8)))
        assert got == {path.read_text().strip()} and len(got.pop()) == 64
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_empty_session_secret_is_a_clear_error(db, state_dir):
    """Guards against signing sessions with an empty or truncated secret."""
    (state_dir / "secret_key").write_text("\n")
    with pytest.raises(ConfigError, match="secret"):
        make_app(db)


def test_session_cookie_flags_and_security_headers(db, state_dir):
    """Guards against a session cookie readable by scripts or sent cross-site, and pages without a CSP."""
    client = make_app(db).test_client()
    response = client.get("/serials")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Content-Security-Policy"] == CSP
    assert "script-src 'self'" in CSP and "'unsafe-inline'" not in CSP.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_form_carries_a_csrf_token(db, state_dir):
    """Guards against a page form shipped without its hidden CSRF input."""
    with db.Session.begin() as s:
        s.add(SerialNumber(serial="F-9", in_stock=False))
        catalogue.create_product(s, "P-1", "P", barcodes=["P-BOX"])
    client = make_app(db).test_client()
    for url in ("/serials", "/serials/F-9", "/products", "/products/P-1", "/stations/till", "/login"):
        html = client.get(url).get_data(as_text=True)
        posts = re.findall(r'<form\b[^>]*method="post".*?</form>', html, flags=re.S)
        assert posts, url
        for form in posts:
            assert 'name="csrf_token" value="' in form, (url, form[:80])


# --- tokens and their command ------------------------------------------------------------------


def test_token_is_stored_only_as_a_hash(session):
    """Guards against the database holding a usable token."""
    text = tokens.create_token(session, "bench")
    session.commit()
    row = session.scalar(select(ApiToken))
    assert row.name == "bench" and text not in row.token_hash
    assert row.token_hash == hashlib.sha256(text.encode()).hexdigest()
    assert tokens.verify_token(session, text).name == "bench"
    assert tokens.verify_token(session, text + "x") is None
    assert tokens.verify_login(session, "bench", text) is not None
    assert tokens.verify_login(session, "other", text) is None


def test_token_names_are_unique_and_revocable(session):
    """Guards against two tokens under one name, or revoking a token that is not there silently."""
    tokens.create_token(session, "bench")
    with pytest.raises(Conflict):
        tokens.create_token(session, "bench")
    tokens.revoke_token(session, "bench")
    with pytest.raises(NotFound):
        tokens.revoke_token(session, "bench")
    assert not tokens.any_token(session)


@pytest.fixture
def cli_engines(monkeypatch):
    """The engines the CLI makes, disposed after the test (the CLI leaves that to process exit)."""
    import station.cli.invocation

    made = []
    real = station.cli.invocation.make_engine

    def tracking(url, **kwargs):
        made.append(real(url, **kwargs))
        return made[-1]

    monkeypatch.setattr(station.cli.invocation, "make_engine", tracking)
    yield made
    for engine in made:
        engine.dispose()


def test_station_token_create_prints_the_token_once(db, tmp_path, cli_engines):
    """Guards against ``station token create`` storing the token in clear or not printing it."""
    config = tmp_path / "station.toml"
    config.write_text(f'[database]\nurl = "{db.url}"\n')
    runner = CliRunner()
    created = runner.invoke(cli, ["--config", str(config), "token", "create", "till-1"])
    assert created.exit_code == 0, created.output
    text = created.stdout.strip()
    assert text.startswith("stn_") and len(text) > 40
    with db.Session() as s:
        assert tokens.verify_token(s, text).name == "till-1"
        assert text not in s.scalar(select(ApiToken.token_hash))
    listed = runner.invoke(cli, ["--config", str(config), "token", "list"])
    assert "till-1" in listed.stdout and text not in listed.stdout
    again = runner.invoke(cli, ["--config", str(config), "token", "create", "till-1"])
    assert again.exit_code != 0 and "exists already" in again.output
    revoked = runner.invoke(cli, ["--config", str(config), "token", "revoke", "till-1"])
    assert revoked.exit_code == 0
    with db.Session() as s:
        assert not tokens.any_token(s)


def test_off_loopback_starts_while_the_database_is_away(tmp_path, state_dir, caplog):
    """Guards against ``station run`` dying at start when the database is away (writes stay refused meanwhile)."""
    config = Config(database=DatabaseConfig(f"sqlite:///{tmp_path}/missing/dir/station.db"),
                    web=WebConfig(host="0.0.0.0"))
    app = create_app(config)
    try:
        assert "cannot check for API tokens" in caplog.text
        response = lan_client(app).post("/api/serials", json={"serial": "D-1"},
                                        headers={"Authorization": "Bearer stn_anything"})
        assert response.status_code == 503
    finally:
        app.extensions["station"].engine.dispose()


def test_loopback_trust_needs_a_local_host_name(db, state_dir):
    """Guards against DNS rebinding: another site's page, its name rebound to 127.0.0.1, writing as the screen."""
    client = make_app(db).test_client()
    rebound = {"Host": "evil.example:8700"}
    assert client.post("/api/serials", json={"serial": "H-1"}, headers=rebound).status_code == 401
    form = client.post("/serials", data={"action": "create", "serial": "H-1", "csrf_token": csrf(client)},
                       headers=rebound)
    assert form.status_code in (400, 401)  # the cookie (and its CSRF token) is not even sent to that name
    for host in ("127.0.0.1:8700", "[::1]:8700", "localhost"):
        assert client.post("/api/serials", json={"serial": f"H-{host}"}, headers={"Host": host}).status_code == 201
    assert not serial_exists(db, "H-1")
