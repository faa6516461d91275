"""What the API tests check and how they reach a real server: error shapes, table snapshots, waitress.

The fixtures (``app``, ``client``, ``world``) are in conftest.py.
"""
from __future__ import annotations

import http.client
import json
import threading
from contextlib import contextmanager
from typing import Any

import waitress
from sqlalchemy import select
from waitress import wasyncore

from station.domain.models import Base

JSON = "application/json"


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
