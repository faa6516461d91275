"""The integration figures of ``station bench``: the event feed's throughput and the webhook delivery lag.

Theory of operation. On the bench's scratch database (filled, then scanned
through by ``drive``): K stations (20 by default) post receipts at once,
each a thread with its own connection on the daemon's path (supplier, one
unserialised unit, CMD:FINISH, in ``run_in_transaction``), while the
daemon's webhook deliverer (station.webhooks.deliverer, its own threads and
sessions, as under ``station run``) sends every ``document.posted`` to a
receiver on loopback (a threading ``http.server`` answering 200). The lag of
an event is from the moment its posting committed (taken in the station's
thread right after the commit) to the moment the receiver has written its
200. Then the feed is read from the start the way an ERP reads it (``GET
/api/events?after=&limit=`` through the Flask app, in process): events per
second for pages of 100 and of 1000. Timings are reported, never judged.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select
from sqlalchemy.engine import Engine

from station.config import from_dict
from station.domain import catalogue, events
from station.domain.models import Document, FeedEvent
from station.scanning.service import ScanService
from station.storage.db import make_sessionmaker, read_only
from station.storage.retry import run_in_transaction
from station.webhooks import outbox, payload
from station.webhooks.deliverer import Deliverer

from .drive import percentiles

BARCODE = "BENCH-HOOK-UNIT"
SUPPLIER = "BENCH-HOOK"


class _Receiver:
    """A loopback receiver that answers 200 and notes when it answered each webhook-id (first time only)."""

    def __init__(self) -> None:
        self.answered: dict[int, float] = {}
        self.requests = 0
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.wfile.flush()
                at = time.time()
                with receiver.changed:
                    receiver.requests += 1
                    receiver.answered.setdefault(int(self.headers["webhook-id"]), at)
                    receiver.changed.notify_all()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bench"
        threading.Thread(target=self.server.serve_forever, name="bench-receiver", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def measure(engine: Engine, url: str, *, stations: int = 20, postings: int = 10, timeout: float = 300.0) -> dict:
    """Post ``postings`` receipts from each of ``stations`` stations at once; the webhook lag and the feed's rate."""
    Session = make_sessionmaker(engine)
    with Session.begin() as s:
        if catalogue.party_id(s, "supplier", SUPPLIER) is None:
            catalogue.create_party(s, "supplier", SUPPLIER, "Bench webhook supplier")
            catalogue.create_product(s, "BENCH-HOOK-UNIT", "Bench unit", serial_required_for_purchase=False,
                                     barcodes=[BARCODE])
    receiver = _Receiver()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    ids = [f"hook-{n + 1:02d}" for n in range(stations)]
    config = from_dict({"database": {"url": url}, "stations": [{"id": i, "mode": "receive"} for i in ids],
                        "webhooks": [{"url": receiver.url, "secret": secret, "events": ["document.posted"]}]})
    with Session.begin() as s:
        outbox.register(s, receiver.url)  # owed what is posted from now on
    deliverer = Deliverer(config, engine, holder="bench")
    deliverer.start()
    service = ScanService(config)
    committed: dict[str, float] = {}  # document reference -> when its posting committed
    lock = threading.Lock()
    errors: list[BaseException] = []
    barrier = threading.Barrier(stations)

    def station(name: str) -> None:
        try:
            barrier.wait()
            for _ in range(postings):
                for text in ("SUP:" + SUPPLIER, BARCODE):
                    run_in_transaction(Session, lambda s, t=text: service.process(s, name, t, device="bench"))
                result = run_in_transaction(Session, lambda s: service.process(s, name, "CMD:FINISH", device="bench"))
                at = time.time()
                with lock:
                    committed[result.document["reference"]] = at
        except BaseException as exc:  # reported in the figures, never swallowed
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=station, args=(name,), name=name) for name in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    posting_s = time.perf_counter() - started
    with Session() as s:
        by_reference = dict(s.execute(
            select(Document.reference, FeedEvent.id).join(FeedEvent, (FeedEvent.subject == "document")
                                                          & (FeedEvent.subject_id == Document.id))
            .where(Document.reference.in_(list(committed)))).all())
    wanted = set(by_reference.values())
    deadline = time.monotonic() + timeout
    with receiver.changed:
        receiver.changed.wait_for(lambda: wanted <= set(receiver.answered) or time.monotonic() > deadline,
                                  timeout=timeout)
        answered = dict(receiver.answered)
        requests = receiver.requests
    deliverer.stop(2.0)
    receiver.close()
    lags = [answered[by_reference[ref]] - at for ref, at in committed.items() if by_reference.get(ref) in answered]
    return {"kind": "integration", "stations": stations, "postings": len(committed),
            "postings_per_s": round(len(committed) / posting_s, 1) if posting_s else None,
            "errors": [repr(e) for e in errors[:3]],
            "webhook": {"delivered": len(lags), "missing": len(wanted - set(answered)), "requests": requests,
                        **percentiles(lags)},
            "feed": feed_rate(engine)}


def feed_rate(engine: Engine) -> dict:
    """Every event of the database read from the start in pages of 100 and 1000, as GET /api/events does."""
    Reader = make_sessionmaker(read_only(engine))
    out: dict = {}
    for limit in (100, 1000):
        after, count, pages = 0, 0, []
        started = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            with Reader.begin() as session:
                rows = events.after(session, after, limit)
                text = json.dumps({"events": payload.events(session, rows), "last_id": rows[-1].id if rows else after})
            pages.append(time.perf_counter() - t0)
            if not rows or not text:
                break
            count += len(rows)
            after = rows[-1].id
        elapsed = time.perf_counter() - started
        out[f"limit_{limit}"] = {"events": count, "events_per_s": round(count / elapsed, 1) if elapsed else None,
                                 "page_p50_ms": percentiles(pages)["p50_ms"],
                                 "page_p99_ms": percentiles(pages)["p99_ms"]}
    return out
