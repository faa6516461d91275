"""A real CUPS scheduler of the test's own: cupsd with its config, spool and socket in a temporary folder.

Nothing of the machine's CUPS is used or touched: ``cupsd -f -c -s`` reads
only our two config files, listens only on our unix socket, and its queues
write to files (``FileDevice Yes``).  Two things CUPS needs are ours:

- a pass-through filter: a queue without a PPD is "raw", and a raw queue
  with a ``file:`` device runs no process at all, so CUPS 2.4 completes the
  job and writes nothing.  Our queues have a PPD whose only filter copies the
  PNG unchanged (what a label printer's driver would turn into its language).
- a notifier: cupsd has no long-poll (``notify-wait`` is ignored, it answers
  with ``notify-get-interval``), so waiting for a job uses the scheduler's push
  notifications: an IPP subscription whose recipient ``station://<fifo>`` makes
  cupsd start our notifier, which copies the IPP event messages it gets into a
  FIFO that the test reads.  No polling, no sleeping.

Files must be reachable by the ``lp`` user that filters and notifiers run as,
hence a world-readable folder under /tmp rather than pytest's private tmp_path.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

CUPSD = "/usr/sbin/cupsd"
PPD = """*PPD-Adobe: "4.3"
*FormatVersion: "4.3"
*FileVersion: "1.0"
*LanguageVersion: English
*LanguageEncoding: ISOLatin1
*PCFileName: "STATION.PPD"
*Manufacturer: "Test"
*Product: "(Label)"
*ModelName: "Label printer stand-in"
*ShortNickName: "Label printer stand-in"
*NickName: "Label printer stand-in"
*PSVersion: "(3010.000) 0"
*cupsVersion: 2.4
*cupsFilter: "image/png 0 passthrough"
*OpenUI *PageSize: PickOne
*DefaultPageSize: Label
*PageSize Label: "<</PageSize[142 71]>>setpagedevice"
*CloseUI: *PageSize
*DefaultImageableArea: Label
*ImageableArea Label: "0 0 142 71"
*DefaultPaperDimension: Label
*PaperDimension Label: "142 71"
"""
CUPSD_CONF = """Listen {root}/cups.sock
LogLevel info
WebInterface No
Browsing No
IdleExitTimeout 0
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""
FILES_CONF = """ServerRoot {root}
ServerBin {root}/bin
DataDir /usr/share/cups
RequestRoot {root}/spool
CacheDir {root}/cache
StateDir {root}/state
TempDir {root}/tmp
ErrorLog stderr
AccessLog {root}/access_log
PageLog {root}/page_log
FileDevice Yes
"""
PASSTHROUGH = '#!/bin/sh\n# CUPS filter: job user title copies options [file]\nexec cat ${6:+"$6"}\n'
NOTIFIER = '#!/bin/sh\n# CUPS notifier: recipient-uri user-data; IPP event messages on stdin\nexec cat > "${1#station://}"\n'


def unavailable() -> str | None:
    """Why a private cupsd cannot run here, or None."""
    if not os.path.exists(CUPSD):
        return f"{CUPSD} is not installed (Debian package cups-daemon)"
    if os.geteuid() != 0:
        return "cupsd runs its filters as lp and must be started as root"
    return None


class PrivateCupsd:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="station-cupsd-"))
        self.root.chmod(0o755)
        self.socket = str(self.root / "cups.sock")
        self.log: list[str] = []
        self.events: queue.Queue = queue.Queue()  # (event, job id, job state) as cupsd pushes them
        self._ready = threading.Event()
        self._writers: list[int] = []
        self.outputs: dict[str, Path] = {}  # queue name -> the file its device writes

    def start(self, timeout: float) -> PrivateCupsd:
        for folder in ("spool", "cache", "state", "tmp", "bin/filter", "bin/notifier", "out"):
            (self.root / folder).mkdir(parents=True, mode=0o755)
        for folder in ("daemon", "backend"):
            (self.root / "bin" / folder).symlink_to(f"/usr/lib/cups/{folder}")
        for path, text in (("bin/filter/passthrough", PASSTHROUGH), ("bin/notifier/station", NOTIFIER)):
            (self.root / path).write_text(text)
            (self.root / path).chmod(0o755)
        (self.root / "label.ppd").write_text(PPD)
        (self.root / "out").chmod(0o777)
        (self.root / "cupsd.conf").write_text(CUPSD_CONF.format(root=self.root))
        (self.root / "cups-files.conf").write_text(FILES_CONF.format(root=self.root))
        self._process = subprocess.Popen(
            [CUPSD, "-f", "-c", str(self.root / "cupsd.conf"), "-s", str(self.root / "cups-files.conf")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self._threads = [threading.Thread(target=self._read_log, daemon=True)]
        self._threads[0].start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("cupsd did not start listening:\n" + "\n".join(self.log[-20:]))
        return self

    def _read_log(self) -> None:
        for line in self._process.stderr:
            self.log.append(line.rstrip())
            if "Listening to" in line:
                self._ready.set()  # listen() has been called: connections now queue up

    def add_queue(self, connection, name: str) -> Path:
        """A queue whose device is a file (created now: cupsd opens it, it does not create it)."""
        output = self.root / "out" / f"{name}.out"
        output.touch(mode=0o666)
        connection.addPrinter(name, filename=str(self.root / "label.ppd"), device=f"file://{output}")
        connection.enablePrinter(name)
        connection.acceptJobs(name)
        self.outputs[name] = output
        return output

    def subscribe(self, connection, name: str) -> None:
        """Have cupsd push every job-completed event of queue `name` into ``events``."""
        fifo = self.root / "out" / f"{name}.events"
        os.mkfifo(fifo)
        fifo.chmod(0o666)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open before any writer, so neither blocks
        self._writers.append(os.open(fifo, os.O_WRONLY))  # ours, never written: no EOF between notifiers
        os.set_blocking(reader, True)
        self._threads.append(threading.Thread(target=self._read_events, args=(reader,), daemon=True))
        self._threads[-1].start()
        connection.createSubscription(f"ipp://localhost/printers/{name}", events=["job-completed"],
                                      recipient_uri=f"station://{fifo}")

    def _read_events(self, fd: int) -> None:
        buffer = b""
        with os.fdopen(fd, "rb", buffering=0) as fifo:
            while data := fifo.read(65536):
                buffer += data
                while (message := ipp_message(buffer)) is not None:
                    attributes, length = message
                    buffer = buffer[length:]
                    self.events.put((attributes.get("notify-subscribed-event"), attributes.get("notify-job-id"),
                                     attributes.get("job-state")))

    def wait_for(self, job_id: int, timeout: float) -> int:
        """The final job-state cupsd reports for `job_id` (9 completed), waiting on its notifications."""
        while True:
            event, notified_job, state = self.events.get(timeout=timeout)
            if notified_job == job_id:
                return state

    def stop(self) -> None:
        for fd in self._writers:
            os.close(fd)
        self._process.terminate()
        self._process.wait(timeout=30)
        for thread in self._threads:
            thread.join(timeout=30)  # they end at EOF: cupsd and its notifiers have exited
        self._process.stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)


def ipp_message(buffer: bytes) -> tuple[dict, int] | None:
    """One IPP message at the start of `buffer`: its named integer/keyword attributes and length; None if cut short."""
    position, attributes, name = 8, {}, None
    while position < len(buffer):
        tag = buffer[position]
        position += 1
        if tag == 0x03:  # end-of-attributes
            return attributes, position
        if tag < 0x10:
            continue  # a group delimiter
        if position + 2 > len(buffer):
            return None
        name_length = int.from_bytes(buffer[position : position + 2], "big")
        if position + 2 + name_length + 2 > len(buffer):
            return None
        name = buffer[position + 2 : position + 2 + name_length].decode() or name
        position += 2 + name_length
        value_length = int.from_bytes(buffer[position : position + 2], "big")
        value = buffer[position + 2 : position + 2 + value_length]
        if position + 2 + value_length > len(buffer):
            return None
        position += 2 + value_length
        if name not in attributes:
            attributes[name] = int.from_bytes(value, "big") if tag in (0x21, 0x23) else value.decode("utf-8", "replace")
    return None
