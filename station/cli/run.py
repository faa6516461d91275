"""``station run`` (scanners, processing and the web page in one process) and ``station serve`` (the page only).

Both create or migrate the database, serve the Flask app on ``[web]
host``/``port`` through the station's own web server (station.live: uvicorn,
live events in its event loop) and print its URL. SIGTERM and SIGINT are blocked in
every thread and taken by the main thread alone (``sigtimedwait``), so the
shutdown runs in plain code rather than in a signal handler: the readers
(they ungrab and close their devices) and the web server at once, then the
processor, all inside a 1.5-second budget; then the process leaves without
the interpreter's teardown (``_finish``), so it is gone well within 2 s.
Once started, what the start made is taken out of the garbage collector's
sight (``_freeze_startup``).
"""
from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import click
from sqlalchemy.exc import DBAPIError

from station.config import Config
from station.daemon.daemon import Daemon, daemon_engine, migrate_or_defer
from station.live.status import LiveStatus
from station.storage.db import migrate

from .invocation import Context, pass_ctx

log = logging.getLogger(__name__)

SIGNALS = {signal.SIGTERM, signal.SIGINT}
SHUTDOWN_BUDGET = 1.5  # seconds for a clean stop; the process is gone within 2 s


def web_app(config: Config, engine, live: LiveStatus | None):
    """The web app on ``engine``, reading the daemon's live status when there is one."""
    from web.app import create_app

    return create_app(config, engine=engine, live=live)


def _wait_for_signal(healthy: Callable[[], bool]) -> int | None:
    """Block until SIGTERM/SIGINT (its number) or until ``healthy()`` turns false (None)."""
    while True:
        info = signal.sigtimedwait(SIGNALS, 0.5)
        if info is not None:
            return info.si_signo
        if not healthy():
            return None


def _web_server(config: Config, engine, live: LiveStatus | None):
    """The app and its listening server, not yet serving: a bad setting fails before anything starts."""
    from station.live.serve import WebServer
    from web.app import asgi_app

    web = config.web
    try:
        app = web_app(config, engine, live)
        return WebServer(asgi_app(app, threads=web.threads, max_streams=web.max_streams,
                                  max_streams_per_client=web.max_streams_per_client), web.host, web.port)
    except OSError as exc:  # the port is taken, the address is not ours
        raise click.ClickException(f"cannot listen on {config.web.host}:{config.web.port}: {exc}") from None


def _finish(signo: int | None, stopped_cleanly: bool, engine) -> None:
    """Leave the process: exit 1 when a part stopped by itself, else 0 (stuck or not: the budget is spent).

    Everything of the station is stopped and closed by now, so the interpreter's own teardown (freeing every
    module and object: 0.3 s idle, over 1 s on a busy machine, most of the time SIGTERM took) is skipped:
    the database's connections are closed (SQLite checkpoints its WAL), logs and output flushed, and
    ``os._exit``.
    """
    if signo is None:
        log.error("a part of the station stopped unexpectedly; exiting")
    elif not stopped_cleanly:
        log.warning("a part of the station did not stop within %.1f s; exiting anyway", SHUTDOWN_BUDGET)
    if stopped_cleanly:  # a connection stuck in a call must not hold the exit up
        engine.dispose()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if signo is None else 0)


def _freeze_startup() -> None:
    """Leave what the start made (modules, mapped classes, the app, its caches: some 120,000 objects) out of every
    later garbage collection.

    A collection of the oldest generation walks every object the process holds, and it comes every few thousand
    requests: 80-120 ms on this project's 2-core machine, landing on whichever scan was running (the slowest of
    3,000 scans over HTTP, 87 ms, was one). Nearly all of those objects live as long as the process, so they are
    frozen once (``gc.freeze``, after a collection so no garbage is frozen with them); a collection then walks
    only what was made since. Objects frozen and dropped later are still freed by their reference counts.
    """
    gc.collect()
    gc.freeze()


def _refuse_homeless(config: Config, engine) -> None:
    """Refuse to start, in one sentence, while a station's location is not an active location (SPEC 3c)."""
    from sqlalchemy.orm import Session

    from station.scanning.places import homeless

    with Session(engine) as session:
        sentence = homeless(session, config.stations)
    if sentence is not None:
        raise click.ClickException(sentence)


def _first_run_hint(engine) -> None:
    """On an empty database, say how to begin (the web page says it too)."""
    from sqlalchemy.orm import Session

    from station.domain.demo import FIRST_RUN_HINT, is_empty

    try:
        with Session(engine) as session:
            empty = is_empty(session)
    except Exception:  # the database may be away or not yet migrated: the hint can wait
        return
    if empty:
        log.warning("%s", FIRST_RUN_HINT)


@click.command()
@pass_ctx
def run(ctx: Context) -> None:
    """Run the daemon: every station's scanners, the processing and the web page, in one process."""
    config = ctx.config
    engine = daemon_engine(config.database.url)
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # before any thread starts: they all inherit it
    try:
        migrated = migrate_or_defer(engine)
    except Exception as exc:
        raise click.ClickException(f"cannot prepare the database: {str(exc).splitlines()[0]}") from None
    if migrated:  # an unreachable database is asked once it answers: the scans wait in the spool meanwhile
        _refuse_homeless(config, engine)
    live = LiveStatus()
    daemon = Daemon(config, engine, live, migrated=migrated)
    try:
        server = _web_server(config, engine, live)
    except BaseException:
        daemon.stop(SHUTDOWN_BUDGET)  # never started: this only lets go of the spool
        raise
    _freeze_startup()  # before anything is served: its one full collection falls on no scan
    daemon.start()
    server.start()
    for url in server.urls:
        click.echo(f"Station running: {url}")
    _first_run_hint(engine)
    signo = _wait_for_signal(lambda: server.alive and daemon.alive)
    log.info("stopping%s", f" on {signal.Signals(signo).name}" if signo else "")
    deadline = time.monotonic() + SHUTDOWN_BUDGET
    # The web server's stop waits on uvicorn's own ticks (0.1 s each): it runs while the readers stop.
    web_stop = threading.Thread(target=server.stop, args=(SHUTDOWN_BUDGET / 3,), name="web-stop")
    web_stop.start()
    readers_stopped = daemon.supervisor.stop(SHUTDOWN_BUDGET / 3)
    web_stop.join()
    clean = daemon.stop(max(0.0, deadline - time.monotonic())) and readers_stopped and not server.alive
    _finish(signo, clean, engine)


@click.command()
@pass_ctx
def serve(ctx: Context) -> None:
    """Serve the web page only; the scanners are read by ``station run``."""
    config = ctx.config
    engine = daemon_engine(config.database.url)
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        migrate(engine)
    except DBAPIError:
        raise  # the root group names the database and says it cannot be reached
    except Exception as exc:
        raise click.ClickException(f"cannot prepare the database: {str(exc).splitlines()[0]}") from None
    _refuse_homeless(config, engine)
    server = _web_server(config, engine, None)
    _freeze_startup()  # before anything is served: its one full collection falls on no request
    server.start()
    for url in server.urls:
        click.echo(f"Serving on {url}")
    _first_run_hint(engine)
    signo = _wait_for_signal(lambda: server.alive)
    log.info("stopping%s", f" on {signal.Signals(signo).name}" if signo else "")
    server.stop(SHUTDOWN_BUDGET)
    _finish(signo, not server.alive, engine)
