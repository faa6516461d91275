#!/usr/bin/env python3
"""What a request costs on loopback, layer by layer: the server alone, Flask, the station's guard and JSON, a scan.

Each figure is one keep-alive client (http.client) sending N requests one after
another to a server in a separate process, as the operator page's scan box
does. The servers: ``waitress`` (the production server before), ``station``
(station.live: uvicorn, Flask through station.live.bridge) and ``a2wsgi`` (uvicorn
with Flask through a2wsgi's WSGIMiddleware, for comparison; ``pip install
a2wsgi`` first; waitress likewise). The layers:

- ``bare``: a WSGI callable answering b"ok" (the server's own cost);
- ``flask``: a bare Flask app, one route answering jsonify (Flask's cost);
- ``ping``: the station's app (guard, security headers, JSON) with one
  extra route that touches no database;
- ``scan-refused`` / ``scan-serial``: ``POST /api/stations/<s>/scans`` on a
  fresh SQLite file: an unknown barcode (logged, refused) or the next serial
  of one open receipt (a line added).

``--inproc`` times the same requests through ``app.wsgi_app`` with no server
and no socket, so the server's share is the difference.

    .venv/bin/python scripts/bench-http.py --server station --layer scan-serial -n 2000
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GTIN = "09501101020917"


def make_app(layer: str, workdir: Path):
    """The WSGI app of ``layer`` (the station's on a fresh SQLite file in ``workdir``)."""
    if layer == "bare":
        def bare(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"ok"]
        return bare
    if layer == "flask":
        from flask import Flask, jsonify
        app = Flask("bench")
        app.add_url_rule("/ping", "ping", lambda: jsonify(ok=True))
        return app
    os.environ["STATE_DIRECTORY"] = str(workdir)
    from flask import jsonify

    from station.config import from_dict
    from station.domain import catalogue
    from station.storage.db import make_engine, make_sessionmaker, migrate
    from web.app import create_app

    url = f"sqlite:///{workdir}/bench.db"
    engine = make_engine(url)
    migrate(engine)
    with make_sessionmaker(engine).begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=[GTIN])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    config = from_dict({"database": {"url": url}, "stations": [{"id": "goods-in", "mode": "receive"}]})
    app = create_app(config, engine=engine)
    app.add_url_rule("/api/bench/ping", "bench_ping", lambda: jsonify(ok=True))
    return app


def requests_of(layer: str, n: int) -> list[tuple[str, str, bytes | None]]:
    if layer == "bare":
        return [("GET", "/", None)] * n
    if layer == "flask":
        return [("GET", "/ping", None)] * n
    if layer == "ping":
        return [("GET", "/api/bench/ping", None)] * n
    path = "/api/stations/goods-in/scans"
    if layer == "scan-refused":
        return [("POST", path, json.dumps({"data": f"NOPE-{i}"}).encode()) for i in range(n)]
    setup = [json.dumps({"data": t}).encode() for t in ("SUP:ACME", GTIN)]
    return [("POST", path, b) for b in setup] + [
        ("POST", path, json.dumps({"data": f"SN-{i:06d}", "id": f"k{i}"}).encode()) for i in range(n)]


def serve(server: str, layer: str, workdir: Path) -> None:
    """Child process: serve the app on a free loopback port, print the port, run until killed."""
    app = make_app(layer, workdir)
    if server == "waitress":
        import waitress
        srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
        print(srv.effective_port, flush=True)
        srv.run()
        return
    import uvicorn

    from station.live.bridge import WSGIBridge
    from station.live.serve import WebServer, listen
    from web.app import asgi_app
    if server == "station" and layer not in ("bare", "flask"):
        web = WebServer(asgi_app(app, threads=8, max_streams=500, max_streams_per_client=10), "127.0.0.1", 0)
        print(web.port, flush=True)
        web.server.run(sockets=web.sockets)
        return
    if server == "a2wsgi":
        from a2wsgi import WSGIMiddleware  # not a dependency: pip install a2wsgi to compare
        asgi = WSGIMiddleware(app, workers=8)
    else:
        asgi = WSGIBridge(app, threads=8, max_body=4096)
    sockets = listen("127.0.0.1", 0)
    print(sockets[0].getsockname()[1], flush=True)
    config = uvicorn.Config(asgi, lifespan="off", log_config=None, access_log=False, proxy_headers=False)
    uvicorn.Server(config).run(sockets=sockets)


def timed(send, reqs, skip: int) -> list[float]:
    out = []
    for i, (method, path, body) in enumerate(reqs):
        t = time.perf_counter()
        status = send(method, path, body)
        dt = time.perf_counter() - t
        if status != 200:
            raise SystemExit(f"{method} {path}: {status}")
        if i >= skip:
            out.append(dt * 1000)
    return out


def over_http(port: int, reqs, skip: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json"}

    def send(method, path, body):
        conn.request(method, path, body=body, headers=headers if body is not None else {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    try:
        return timed(send, reqs, skip)
    finally:
        conn.close()


def in_process(app, reqs, skip: int) -> list[float]:
    def send(method, path, body):
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "8700", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                   "HTTP_HOST": "127.0.0.1:8700", "REQUEST_URI": path, "wsgi.url_scheme": "http",
                   "wsgi.input": io.BytesIO(body or b""), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                   "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0)}
        if body is not None:
            environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)))
        status = []
        for _ in app(environ, lambda s, h, e=None: status.append(s)):
            pass
        return int(status[0].split()[0])
    return timed(send, reqs, skip)


def summary(ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(ms, n=100)
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 3), "p90_ms": round(q[89], 3),
            "p99_ms": round(q[98], 3), "mean_ms": round(statistics.fmean(ms), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("waitress", "a2wsgi", "station"), default="station")
    parser.add_argument("--layer", choices=("bare", "flask", "ping", "scan-refused", "scan-serial"), default="ping")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--inproc", action="store_true", help="through app.wsgi_app, no server, no socket")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.child:
            serve(args.server, args.layer, workdir)
            return
        reqs = requests_of(args.layer, args.n + args.warmup)
        skip = args.warmup + (len(reqs) - args.n - args.warmup)
        if args.inproc:
            ms = in_process(make_app(args.layer, workdir), reqs, skip)
        else:
            child = subprocess.Popen([sys.executable, __file__, "--child", "--server", args.server,
                                      "--layer", args.layer], stdout=subprocess.PIPE, text=True)
            try:
                port = int(child.stdout.readline())
                ms = over_http(port, reqs, skip)
            finally:
                child.terminate()
                child.wait(10)
        where = "in-process" if args.inproc else args.server
        print(json.dumps({"server": where, "layer": args.layer, **summary(ms)}))


if __name__ == "__main__":
    main()
