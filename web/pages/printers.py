"""The label printers on ``/devices``: each configured printer, what the daemon last saw of it, and its queue.

Read from the database (``printer_status``, ``print_job``: station.printing.queue), which the daemon of
``station run`` writes, so ``station serve`` shows the same. Which stations print where comes from the
configuration.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import OperationalError

from station.config import Config
from station.interchange.representation import timestamp
from station.printing import queue as print_queue

from ..db import transaction

log = logging.getLogger(__name__)


def printer_rows(config: Config) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per configured printer, and the sentences of what needs doing: the database cannot say how they
    are, or labels wait for a printer the configuration no longer names."""
    ids = [p.id for p in config.printers]
    try:
        with transaction() as session:
            queues = print_queue.queues(session, ids) if ids else {}
            left = print_queue.unconfigured(session, ids)
    except OperationalError as exc:
        log.warning("/devices: printer queues unavailable: %s", exc.orig)
        queues, left = {}, {}
        problems = ["The database cannot be reached: the printers' states and queues cannot be shown."]
    else:
        problems = []
    problems += [print_queue.unconfigured_sentence(printer, count) for printer, count in left.items()]
    rows = []
    for printer in config.printers:
        q = queues.get(printer.id)
        rows.append({
            "id": printer.id, "kind": printer.kind, "address": printer.address,
            "label": f"{printer.label} mm, {printer.dpi} dpi",
            "stations": [s.id for s in config.stations if printer.id in (s.print_on_receive, s.label_printer)],
            "state": (q.state or "unknown") if q else "unknown",
            "queue": _queue(q) if q else None,
        })
    return rows, problems


def _label(label: print_queue.Label) -> dict[str, Any]:
    return {"serial": label.serial, "at": timestamp(label.at), "error": label.error}


def _queue(q: print_queue.PrinterQueue) -> dict[str, Any]:
    return {
        "condition": q.condition, "state": q.state, "message": q.message, "since": timestamp(q.since),
        "pending": q.pending, "failed": q.failed,
        "last_printed": _label(q.last_printed) if q.last_printed else None,
        "failed_labels": [_label(label) for label in q.failed_labels],
        "doubled": [_label(label) for label in q.doubled],
    }
