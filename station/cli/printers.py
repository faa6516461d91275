"""``station printers``: each configured label printer, whether it answers, and its queue.

Every printer is asked at once (``LabelPrinter.status``, each on a thread of
its own, so two silent printers cost one timeout, not two); the queue comes
from the database, and is reported as unknown when the database cannot be
reached, so a printer check still answers then. One sentence per problem on
stderr; exit 1 when a printer cannot print now (it does not answer, answers
a problem such as paper out, or its driver cannot be set up here) or the
queue cannot be read. Failed labels and labels that may have printed twice
are said too, without failing the check: they are history to act on.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import click
from sqlalchemy.exc import DBAPIError

from drivers.printers import PrinterConfigError, PrinterState
from station.config import LabelPrinterConfig
from station.printing import queue as print_queue
from station.printing.dispatch import driver_for

from .invocation import Context, NoStationDatabase, pass_ctx


def _ask(printer: LabelPrinterConfig) -> tuple[PrinterState | None, str | None]:
    """How the printer is, and the sentence of its problem (None when it is ready)."""
    try:
        state = driver_for(printer).status()
    except PrinterConfigError as exc:
        return None, exc.message
    if state.state == "ready":
        return state, None
    detail = (state.detail or state.state).rstrip(".")
    if state.state == "offline":
        return state, f"Printer {printer.id} does not answer: {detail}."
    return state, f"Printer {printer.id} cannot print: {detail}."


def _queue(q: print_queue.PrinterQueue | None) -> str:
    if q is None:
        return "queue unknown"
    text = f"{q.pending} pending, {q.failed} failed"
    if q.last_printed is not None:
        text += f", last printed {q.last_printed.serial}"
    return text


def _read_queues(ctx: Context, problems: list[str]) -> tuple[dict[str, print_queue.PrinterQueue], dict[str, int]]:
    """Each printer's queue and the labels left for printers no longer configured; ({}, {}) and a problem when the
    database cannot say."""
    ids = [p.id for p in ctx.config.printers]
    try:
        with ctx.sessionmaker()() as session:
            return print_queue.queues(session, ids), print_queue.unconfigured(session, ids)
    except DBAPIError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        problems.append(f"The print queue cannot be read: the database cannot be reached ({first}).")
    except NoStationDatabase as exc:  # never one made here: the printers are still asked
        problems.append(f"The print queue cannot be read: {exc.message}")
    return {}, {}


def _queue_notes(printer: LabelPrinterConfig, q: print_queue.PrinterQueue) -> list[str]:
    """What the operator should know of a printer's queue: its latest failed label, labels maybe printed twice."""
    notes = []
    for label in q.failed_labels[:1]:
        notes.append(f"Printer {printer.id} has {q.failed} failed label{'s' if q.failed != 1 else ''};"
                     f" the latest, {label.serial}: {label.error}")
    for label in q.doubled:
        notes.append(f"Printer {printer.id} may have printed {label.serial} twice: look for a second label"
                     " with that serial and throw it away.")
    return notes


@click.command()
@pass_ctx
def printers(ctx: Context) -> None:
    """Each configured label printer: kind, address, label, whether it answers, its queue (exit 1: one cannot print)."""
    config = ctx.config
    problems: list[str] = []
    notes: list[str] = []
    queues, left = _read_queues(ctx, problems)
    # Labels nobody will print until their printer is configured again: a problem, like a printer that is off.
    problems += [print_queue.unconfigured_sentence(printer, count) for printer, count in left.items()]
    if not config.printers:
        click.echo("No label printers are configured: add a [[printers]] entry to the configuration"
                   " (README, Printing).")
        for sentence in problems:
            click.echo(sentence, err=True)
        if problems:
            raise SystemExit(1)
        return
    with ThreadPoolExecutor(max_workers=len(config.printers)) as pool:
        answers = list(pool.map(_ask, config.printers))
    rows = []
    for printer, (state, problem) in zip(config.printers, answers, strict=True):
        q = queues.get(printer.id)
        rows.append((printer.id, printer.kind, printer.address, f"{printer.label} mm {printer.dpi} dpi",
                     str(state) if state is not None else "not set up", _queue(q)))
        if problem is not None:
            problems.append(problem)
        if q is not None:
            notes += _queue_notes(printer, q)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for sentence in problems + notes:
        click.echo(sentence, err=True)
    if problems:
        raise SystemExit(1)
