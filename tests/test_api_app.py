"""The app factory and the request transaction: what the API does when the database or the body misbehaves."""
from __future__ import annotations

import http.client
import json
import threading

import pytest
from helpers.api import assert_error, serve, snapshot
from sqlalchemy import event, inspect

from station.config import from_dict
from web import create_app
from web.db import EXTENSION, StationApp


def test_factory_makes_its_own_engine_and_does_not_migrate(tmp_path):
    """create_app keeps config, engine and sessions per app, makes the engine from the config, and never migrates."""
    url = f"sqlite:///{tmp_path}/fresh.db"
    one = create_app(from_dict({"database": {"url": url}}))
    two = create_app(from_dict({"database": {"url": url}}))
    ext = one.extensions[EXTENSION]
    assert isinstance(ext, StationApp) and ext is not two.extensions[EXTENSION]
    assert str(ext.engine.url) == url and ext.config.database.url == url
    assert inspect(ext.engine).get_table_names() == []
    ext.engine.dispose()
    two.extensions[EXTENSION].engine.dispose()


def _create_twice_at_once(app, engine, meet: str, hold) -> list:
    """POST one serial from two threads, each with its own request, session and connection; ``hold`` (an
    engine event listener on ``meet``) holds them at a barrier. The two responses, in the order they came."""
    responses, errors = [], []

    def create() -> None:
        try:
            responses.append(app.test_client().post("/api/serials", json={"serial": "SN-1"}))
        except BaseException as exc:  # a 500 raises here (app.testing): reported below, not lost in the thread
            errors.append(exc)

    event.listen(engine, meet, hold)
    try:
        threads = [threading.Thread(target=create, name=f"request-{n}") for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        event.remove(engine, meet, hold)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return responses


def _one_wins(app, db, meet: str, hold, barrier: threading.Barrier, where: str, code: str) -> None:
    """Two creates of SN-1 at once, each held by ``hold`` (on the engine's ``meet`` event) at ``barrier`` until
    both are there: they met (``where``), one wins with 201, the other gets 409 ``code``, and only the winner
    wrote anything."""
    before = snapshot(db)
    winner, loser = sorted(_create_twice_at_once(app, db.engine, meet, hold), key=lambda response: response.status_code)
    assert not barrier.broken, f"the two requests never met {where}"
    assert_error(loser, 409, code)
    after = snapshot(db)
    assert winner.status_code == 201 and winner.get_json()["serial"] == "SN-1"
    # The serial, and its serial.changed event in the same transaction (the loser wrote neither).
    assert [table for table in after if after[table] != before[table]] == ["event", "serial_number"]
    assert len(after["serial_number"]) == len(before["serial_number"]) + 1
    assert len(after["event"]) == len(before["event"]) + 1


def test_race_lost_to_unique_index_is_409(app, db):
    """Two requests creating one serial at once: both find no such serial, then both insert, so the loser
    hits the unique index and gets 409 ``conflict`` (not a 500), and nothing of it is written.

    A barrier holds each request just before its INSERT, after its check, on PostgreSQL: the second INSERT
    waits on the first one's index entry and fails when it commits. SQLite takes its write lock at BEGIN
    (``BEGIN IMMEDIATE``), so there the second request cannot reach its check before the first commits
    (test_creates_at_once_take_turns_on_sqlite).
    """
    if db.backend != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: no two requests are ever between check and insert")
    at_insert = threading.Barrier(2, timeout=10)

    def hold_at_insert(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SERIAL_NUMBER"):
            at_insert.wait()

    _one_wins(app, db, "before_cursor_execute", hold_at_insert, at_insert, "before their INSERTs", "conflict")


def test_creates_at_once_take_turns_on_sqlite(app, db):
    """Two requests creating one serial at once on SQLite: they meet as each takes its connection, before
    BEGIN; one takes the write lock, the other waits for it (no "database is locked", no 500) and its check
    then finds the serial: 409 ``duplicate``, nothing of it written. (On PostgreSQL both pass the check:
    test_race_lost_to_unique_index_is_409.)"""
    if db.backend != "sqlite":
        pytest.skip("PostgreSQL lets both requests pass the check: test_race_lost_to_unique_index_is_409")
    at_checkout = threading.Barrier(2, timeout=10)

    def hold_at_checkout(dbapi_connection, record, proxy) -> None:
        at_checkout.wait()

    _one_wins(app, db, "checkout", hold_at_checkout, at_checkout, "before BEGIN", "duplicate")


def test_database_down_is_503():
    """With the database unreachable the API answers 503 ``database_unavailable`` in JSON, not a 500 page."""
    app = create_app(from_dict({"database": {"url": "postgresql+psycopg://127.0.0.1:1/none?connect_timeout=2"}}))
    client = app.test_client()
    assert_error(client.get("/api/serials"), 503, "database_unavailable")
    assert_error(client.post("/api/serials", json={"serial": "SN-1"}), 503, "database_unavailable")
    app.extensions[EXTENSION].engine.dispose()


def test_chunked_body_over_4k_through_the_server(app):
    """A body sent chunked (no Content-Length) is still cut at 4 KiB: 413 ``too_large`` from the real server."""
    with serve(app) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            chunks = iter([b'{"serial": "', b"x" * 5000, b'"}'])
            conn.request("POST", "/api/serials", body=chunks, encode_chunked=True,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
    assert resp.status == 413 and b'"too_large"' in body


def test_head_and_json_content_type(client):
    """Answers are application/json, HEAD works where GET does, and keys keep SPEC's order."""
    resp = client.post("/api/suppliers", json={"code": "ACME", "name": "Acme Ltd"})
    assert resp.mimetype == "application/json" and list(resp.get_json()) == ["code", "name"]
    assert client.head("/api/suppliers/ACME").status_code == 200
    assert client.get("/api/suppliers").headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("method, path, status, code", [
    pytest.param("POST", "/api/stations/default//scans", 404, "not_found", id="double_slash_no_html_redirect"),
    pytest.param("TRACE", "/api/serials", 405, "method_not_allowed", id="trace"),
    pytest.param("PUT", "/api/serials", 405, "method_not_allowed", id="put"),
    pytest.param("OPTIONS", "/api/nothing/here", 404, "not_found", id="options_unknown"),
    pytest.param("BREW", "/api/serials", 400, "bad_request", id="method_no_parser_knows"),
])
def test_the_api_answers_json_for_any_method_and_path(app, method, path, status, code):
    """Guards against HTML from the API (issue 10, defect 12): a 308 redirect for '//', a CSRF page for TRACE.
    Through the real server, so nothing in front of Flask answers in HTML either."""
    with serve(app) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(method, path, body=b"{}", headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
    assert resp.status == status and resp.getheader("Content-Type") == "application/json", (resp.status, body)
    assert json.loads(body)["error"]["code"] == code
