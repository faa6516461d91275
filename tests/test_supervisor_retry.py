"""A scanner matched by vendor:product or name that was read before and has no device now is looked for again
every ``reconnect_interval``, not only on a hotplug event: an add event can come before the new node answers who
it is, and a missed event must not leave the scanner unread until the next one.
"""
from __future__ import annotations

import threading

from station.config import from_dict
from station.daemon.supervisor import Supervisor


class _Counting(Supervisor):
    """The real supervisor, counting its device listings (each one a look for the lost scanner)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.looked = 0
        self.changed = threading.Condition()

    def _list(self, kind: str):
        devices = super()._list(kind)
        with self.changed:
            self.looked += 1
            self.changed.notify_all()
        return devices


def test_a_lost_matched_scanner_is_looked_for_again_and_again_until_it_is_back():
    """Guards against the retry timer arming no next one from its own refresh (it is alive while it runs), which
    made the look every ``reconnect_interval`` a single look."""
    config = from_dict({"stations": [{"id": "till", "scanners": [{"vendor_product": "0c2e:0b61"}]}]})
    supervisor = _Counting(config.stations, lambda *a: None, lambda *a: None, reconnect_interval=0.01,
                           hotplug=False)
    supervisor.slots[0].seen = True  # it was read before; no device of it is present here
    try:
        supervisor.refresh()
        with supervisor.changed:
            assert supervisor.changed.wait_for(lambda: supervisor.looked >= 5, 10), supervisor.looked
    finally:
        supervisor.stop()
