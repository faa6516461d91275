"""The app factory and the request transaction: what the API does when the database or the body misbehaves."""
from __future__ import annotations

import http.client

from helpers.api import assert_error, serve, snapshot
from sqlalchemy import inspect

import station.domain.serials
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
    assert str(ext.engine.url) == url and ext.config.database_url == url
    assert inspect(ext.engine).get_table_names() == []
    ext.engine.dispose()
    two.extensions[EXTENSION].engine.dispose()


def test_race_lost_to_unique_index_is_409(client, db, monkeypatch):
    """Two requests creating one serial: the loser hits the unique index and gets 409 ``conflict``, not a 500."""
    client.post("/api/serials", json={"serial": "SN-1"})
    before = snapshot(db)
    # As if the other request committed between this one's check and its insert.
    monkeypatch.setattr(station.domain.serials, "find_serial", lambda session, text, **kw: None)
    assert_error(client.post("/api/serials", json={"serial": "SN-1", "supplier": None}), 409, "conflict")
    assert snapshot(db) == before


def test_database_down_is_503():
    """With the database unreachable the API answers 503 ``database_unavailable`` in JSON, not a 500 page."""
    app = create_app(from_dict({"database": {"url": "postgresql+psycopg://127.0.0.1:1/none?connect_timeout=2"}}))
    client = app.test_client()
    assert_error(client.get("/api/serials"), 503, "database_unavailable")
    assert_error(client.post("/api/serials", json={"serial": "SN-1"}), 503, "database_unavailable")
    app.extensions[EXTENSION].engine.dispose()


def test_chunked_body_over_4k_through_waitress(app):
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
