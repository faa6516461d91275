"""Fixtures and helpers the API tests share (no tests here): an app on conftest's database, a waitress server.

The other test_api_* modules import what they use from here, so each module
still gets its own fresh database through conftest's ``db`` fixture.
"""
from __future__ import annotations

import http.client
import json
import threading
from contextlib import contextmanager
from typing import Any

import pytest
import waitress
from sqlalchemy import select
from waitress import wasyncore

from station.config import from_dict
from station.domain import catalogue
from station.domain.models import Base
from web import create_app

JSON = "application/json"


@pytest.fixture
def app(db):
    """The app on the test's database (SQLite or PostgreSQL); exceptions propagate, so a 500 fails loudly."""
    app = create_app(from_dict({"database": {"url": db.url}}), engine=db.engine)
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(db):
    """WID-1 Widget (a UPC-A barcode), WID-2 Gadget, LOOSE (no serial at purchase), supplier ACME, customer BOB."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=["036000291452"])
        catalogue.create_product(s, "WID-2", "Gadget")
        catalogue.create_product(s, "LOOSE", "Loose", serial_required_for_purchase=False)
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_party(s, "customer", "BOB", "Bob")


def assert_error(resp, status: int, code: str | None = None) -> dict[str, Any]:
    """A JSON error of the SPEC 5 shape with that status (and code)."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.mimetype == JSON
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table, to prove a refused request wrote nothing."""
    with db.engine.connect() as conn:
        return {
            t.name: sorted((tuple(map(repr, row)) for row in conn.execute(select(t))))
            for t in Base.metadata.sorted_tables
        }


@contextmanager
def serve(app):
    """The app on a real waitress server on a free loopback port; yields the port, then closes everything."""
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        # Close every socket from inside the loop's own thread; the loop ends when none is left.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        assert not thread.is_alive()


def raw_request(port: int, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """Send ``path`` exactly as given (already percent-encoded) with http.client; answer status, headers, JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = None if body is None else json.dumps(body).encode()
        hdrs = {"Content-Type": JSON} if data is not None else {}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        return resp.status, dict(resp.getheaders()), json.loads(payload) if payload else None
    finally:
        conn.close()
