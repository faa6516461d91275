"""What the API tests check and how they reach a real server: error shapes, table snapshots, the station's server.

The fixtures (``app``, ``client``, ``world``) are in conftest.py.
"""
from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from station.domain.models import Base
from station.live.serve import WebServer
from web.app import asgi_app, create_app

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
            t.name: sorted(tuple(map(repr, row)) for row in conn.execute(select(t)))
            for t in Base.metadata.sorted_tables
        }


@contextmanager
def serve(app, *, threads: int = 2, max_streams: int = 500, max_streams_per_client: int = 10):
    """The app on the station's own server (station.live: uvicorn) on a free loopback port; yields the port."""
    server = WebServer(asgi_app(app, threads=threads, max_streams=max_streams,
                                max_streams_per_client=max_streams_per_client), "127.0.0.1", 0)
    server.start()
    try:
        yield server.port
    finally:
        server.stop(5)
        assert not server.alive


@contextmanager
def serve_station(config, engine, state_directory: Path, *, threads: int = 4,
                  heartbeat: float | None = 1.0) -> Iterator[str]:
    """The web app of ``config`` on ``engine``, on the station's own server, its local files (spool, session
    secret) in ``state_directory`` as systemd's $STATE_DIRECTORY puts them; the live streams' heartbeat every
    ``heartbeat`` s (None: the app's own). Yields the server's base URL."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STATE_DIRECTORY", str(state_directory))
        app = create_app(config, engine=engine)
        if heartbeat is not None:
            app.config["STATION_SSE_HEARTBEAT"] = heartbeat
        with serve(app, threads=threads) as port:
            yield f"http://127.0.0.1:{port}"


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
