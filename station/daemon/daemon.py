"""The scanning daemon of ``station run``: readers, the durable spool and the processor, wired.

A reader's completed scans are appended to the spool (committed to disk,
with the line the read left unfinished: station.daemon.intake) and only then
handed to the processor, which carries it out against the main
database; scanner states and held scans go to the ``LiveStatus`` the web page
of the same process reads. The web server itself belongs to the command.
"""
from __future__ import annotations

import fcntl
import logging
import sqlite3
import time
from pathlib import Path
from typing import IO

from sqlalchemy.engine import Engine

from station.config import Config
from station.domain.errors import ConfigError
from station.domain.wording import plural
from station.live.status import LiveStatus
from station.printing.dispatch import PrintQueue
from station.printing.worker import BACKOFF
from station.scanning.service import ScanService
from station.storage.db import make_engine, make_sessionmaker, migrate, normalise_url
from station.storage.retry import is_unreachable
from station.webhooks.deliverer import Deliverer

from .intake import Intake
from .processor import Processor
from .spool import Spool
from .supervisor import Supervisor

log = logging.getLogger(__name__)

# libpq settings for a daemon that must notice a vanished server, not hang on it:
# a connect gives up after 3 s, and a dead connection is found within ~10 s.
PG_CONNECT_ARGS = {
    "connect_timeout": 3,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 5000,
}


def daemon_engine(url: str) -> Engine:
    """An engine for a long-running process: PostgreSQL connections time out instead of hanging."""
    if normalise_url(url).startswith("postgresql"):
        return make_engine(url, connect_args=dict(PG_CONNECT_ARGS))
    return make_engine(url)


def migrate_or_defer(engine: Engine) -> bool:
    """Migrate now; False when the database is unreachable (the processor migrates once it answers)."""
    try:
        migrate(engine)
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        log.warning("database unreachable at start (%s): scans will be held until it answers",
                    str(exc).splitlines()[0])
        return False
    return True


def _lock(spool: Path) -> IO[bytes]:
    """Hold ``<spool>.lock`` for this process's life: two daemons must not read one spool and its scanners."""
    spool.parent.mkdir(parents=True, exist_ok=True)
    handle = open(spool.with_name(spool.name + ".lock"), "ab")  # noqa: SIM115 (held until the process ends)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        handle.close()
        raise
    return handle


class Daemon:
    """Every configured station's scanners feeding one spool and one processor."""

    def __init__(self, config: Config, engine: Engine, live: LiveStatus | None = None, *,
                 migrated: bool = True, hotplug: bool = True, reconnect_interval: float = 0.5,
                 print_backoff: tuple[float, float] | None = None) -> None:
        self.config = config
        self.live = LiveStatus() if live is None else live
        self._migrated = migrated
        path = config.spool_path
        problem = f"cannot open the scan spool {path}"
        try:
            self._lockfile = _lock(path)
        except BlockingIOError:
            raise ConfigError(f"another station daemon is using the scan spool {path}") from None
        except OSError as exc:
            raise ConfigError(f"{problem} ({exc}): set [daemon] spool to a writable file") from None
        try:
            self.spool = Spool(path, keep_done=config.daemon.keep_done)
        except (sqlite3.Error, OSError, ValueError) as exc:
            self._lockfile.close()
            raise ConfigError(f"{problem} ({exc}): set [daemon] spool to a writable file") from None
        try:
            self.processor = Processor(
                self.spool, make_sessionmaker(engine), ScanService(config), self.live,
                stations=[s.id for s in config.stations],
                prepare=None if migrated else (lambda: migrate(engine)),
            )
            self.supervisor = Supervisor(config.stations, Intake(self.spool, self.live, self.processor), self._device,
                                         reconnect_interval=reconnect_interval, hotplug=hotplug)
            # Webhook deliveries: threads and sessions of their own, never on the scan path.
            self.deliverer = Deliverer(config, engine)
            # Labels go out on threads of their own; a printer never holds up a scan (station.printing.dispatch).
            self.printing = PrintQueue(config, engine, make_sessionmaker(engine), changed=self.live.notify,
                                       backoff=print_backoff or BACKOFF)
            self.live.accept_scans(self.processor.submit)
        except BaseException:
            self.spool.close()
            self._lockfile.close()
            raise

    def start(self) -> None:
        """Process what the spool still holds from before, then open the scanners."""
        log.info("spool %s: %s held from before", self.spool.path, plural(sum(self.spool.held().values()), "scan"))
        # First: a webhook is owed the scans this start processes (unless the database is away at start).
        self.deliverer.start(register=self._migrated)
        self.processor.start()
        self.supervisor.start()
        self.printing.start()

    @property
    def alive(self) -> bool:
        return self.processor.is_alive()

    def stop(self, timeout: float = 1.5) -> bool:
        """Stop the readers (they ungrab and close), then the processor; True when all ended in time."""
        deadline = time.monotonic() + timeout
        self.deliverer.stop(0.0)
        readers_done = self.supervisor.stop(timeout * 0.6)
        self.printing.stop(min(0.2, max(0.0, deadline - time.monotonic())))  # a label mid-send is not waited for
        self.processor.stop(max(0.0, deadline - time.monotonic()))
        if self.processor.is_alive():
            log.warning("scan processor still busy at exit; its scan stays pending in the spool")
            return False
        self.spool.close()
        self._lockfile.close()
        return readers_done

    # -- callbacks from reader threads -------------------------------------------
    def _device(self, station: str, device: str, kind: str, state: str) -> None:
        self.live.set_device(station, device, kind, state)
        self.processor.device_changed(station, device)

