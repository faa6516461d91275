"""The ioctl and read side of an emulated evdev node (see ``emulation``): a ``UMockdev.IoctlBase`` subclass.

Its methods run on the testbed's worker thread, one call per ioctl or read
the program under test makes on the node. ``calls`` records what it asked,
in order ("open", "clock 1", "grab", "ungrab", "grab refused"...), and ``changed``
is notified at each entry, so a test waits on the event itself.
"""
from __future__ import annotations

import errno
import threading
import time

_NAMES = {1: "EVIOCGVERSION", 2: "EVIOCGID", 3: "EVIOCGREP", 6: "EVIOCGNAME(0)", 7: "EVIOCGPHYS(0)",
          8: "EVIOCGUNIQ(0)", 9: "EVIOCGPROP(0)", 0x18: "EVIOCGKEY(0)", 0x19: "EVIOCGLED(0)",
          0x84: "EVIOCGEFFECTS"}
_FIXED = {"EVIOCGVERSION", "EVIOCGID", "EVIOCGREP", "EVIOCGEFFECTS"}  # structs: 0 on success
_GRAB, _CLOCKID = 0x90, 0xA0
EVENT_SIZE = 24


def request_name(request: int) -> str:
    """The recorded name of an evdev read request: EVIOCGBIT(1), EVIOCGNAME(0)..."""
    nr = request & 0xFF
    if 0x20 <= nr < 0x40:
        return f"EVIOCGBIT({nr - 0x20})"
    if 0x40 <= nr < 0x80:
        return f"EVIOCGABS({nr - 0x40})"
    return _NAMES.get(nr, f"0x{request:08x}")


# mccabe adds up the methods of a class defined inside a function; each of them is small.
def make_ioctls_class(base: type) -> type:  # noqa: C901
    """Define the handler on ``UMockdev.IoctlBase`` (passed in: gi is imported by the caller)."""

    class Ioctls(base):
        def __init__(self, answers: dict[str, list[tuple[int, bytes]]]) -> None:
            super().__init__()
            self.answers = answers
            self.calls: list[str] = []
            self.times: list[float] = []  # time.monotonic() of each call
            self.changed = threading.Condition()
            self.refuse_grab = False  # another program holds the device: EVIOCGRAB fails with EBUSY
            self.clock = time.CLOCK_REALTIME  # the kernel's default, until a client asks for another
            self._grabbed_by = None
            self._gone = False
            self._carry: dict[int, bytes] = {}  # per client: the start of an event not handed out yet
            # Holding each client's wrapper keeps it the one PyGObject hands back, so id() names the client.
            self._clients: dict[int, object] = {}

        def now(self) -> float:
            """Now, on the clock this device stamps its events with."""
            return time.clock_gettime(self.clock)

        def unplugged(self) -> None:
            self._gone = True
            self._record("unplugged")

        def _record(self, what: str) -> None:
            with self.changed:
                self.times.append(time.monotonic())
                self.calls.append(what)
                self.changed.notify_all()

        def do_client_connected(self, client) -> None:
            self._clients[id(client)] = client
            self._record("open")

        def _holder(self) -> int | None:
            """The client holding the grab; a closed one holds nothing (the kernel drops a grab with its file).

            This umockdev never emits client-vanished, so a closed client is found by asking it."""
            holder = self._clients.get(self._grabbed_by)
            if holder is not None and not holder.get_connected():
                self._grabbed_by = None
            return self._grabbed_by

        def do_handle_ioctl(self, client) -> bool:
            request = client.get_request()
            nr, size = request & 0xFF, (request >> 16) & 0x3FFF
            if self._gone:
                client.complete(-1, errno.ENODEV)
            elif nr == _GRAB:
                self._grab(client, int.from_bytes(client.get_arg().data[:4], "little"))
            elif nr == _CLOCKID:
                self.clock = int.from_bytes(client.get_arg().resolve(0, 4).data[:4], "little", signed=True)
                self._record(f"clock {self.clock}")
                client.complete(0, 0)
            else:
                self._answer(client, request_name(request), size)
            return True

        def _grab(self, client, on: int) -> None:
            holder = self._holder()
            mine = holder == id(client)
            if on and (self.refuse_grab or (holder is not None and not mine)):
                self._record("grab refused")
                client.complete(-1, errno.EBUSY)
                return
            if not on and not mine:
                client.complete(-1, errno.EINVAL)
                return
            self._grabbed_by = id(client) if on else None
            self._record("grab" if on else "ungrab")
            client.complete(0, 0)

        def _answer(self, client, name: str, size: int) -> None:
            recorded = self.answers.get(name)
            if not recorded:
                client.complete(-1, errno.ENOENT)  # as umockdev's own ioctl trees answer the unrecorded
                return
            ret, payload = next(((r, p) for r, p in recorded if len(p) == size), recorded[0])
            client.get_arg().resolve(0, size).update(0, payload[:size].ljust(size, b"\0"))
            client.complete(0 if name in _FIXED else min(ret, size), 0)

        def do_handle_read(self, client) -> bool:
            """Whole input_event records only; ENODEV once unplugged, as evdev answers."""
            if self._gone:
                client.complete(-1, errno.ENODEV)
                return True
            result, error = client.execute()  # the real read of the pseudo-terminal, into the client's buffer
            if result < 0:
                client.complete(result, error)
                return True
            data = self._carry.pop(id(client), b"") + bytes(client.get_arg().retrieve())[:result]
            whole = len(data) // EVENT_SIZE * EVENT_SIZE
            if whole < len(data):
                self._carry[id(client)] = data[whole:]
            if whole == 0:
                client.complete(-1, errno.EAGAIN)
            else:
                client.get_arg().update(0, data[:whole])
                client.complete(whole, 0)
            return True

    return Ioctls
