"""The hotplug nudge: udev events when there is libudev, a rescan tick otherwise."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from drivers import hotplug


@dataclass
class FakeUdevDevice:
    action: str
    device_node: str | None = "/dev/input/event9"
    sys_path: str = "/sys/devices/virtual/input/input9/event9"


class FakeMonitor:
    """What watch() uses of pyudev.Monitor: poll(timeout) -> device or None."""

    def __init__(self) -> None:
        self.events: queue.Queue[FakeUdevDevice] = queue.Queue()

    def poll(self, timeout: float) -> FakeUdevDevice | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None


@pytest.fixture
def watching() -> Iterator:
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(on_change, **kwargs) -> threading.Event:
        ready = threading.Event()
        kwargs["ready"] = ready
        thread = threading.Thread(target=hotplug.watch, args=(on_change, stop), kwargs=kwargs)
        thread.start()
        threads.append(thread)
        assert ready.wait(2.0)
        return ready

    yield start
    stop.set()
    for thread in threads:
        thread.join(1.0)
        assert not thread.is_alive()


def test_udev_add_and_remove_nudge_the_readers(monkeypatch: pytest.MonkeyPatch, watching) -> None:
    """Guards the udev path: add/remove call on_change, other actions don't."""
    monitor = FakeMonitor()
    monkeypatch.setattr(hotplug, "open_monitor", lambda subsystems: monitor)
    changes: queue.Queue[str] = queue.Queue()
    watching(lambda: changes.put("changed"))
    for action in ("bind", "add", "change", "remove"):
        monitor.events.put(FakeUdevDevice(action))
    assert [changes.get(timeout=2.0), changes.get(timeout=2.0)] == ["changed", "changed"]
    monitor.events.put(FakeUdevDevice("add"))  # a barrier: everything before it was handled
    assert changes.get(timeout=2.0) == "changed"
    assert changes.empty()


def test_without_libudev_it_rescans_periodically(monkeypatch: pytest.MonkeyPatch, watching) -> None:
    """Guards machines without libudev: readers are still nudged, on a timer."""
    monkeypatch.setattr(hotplug, "open_monitor", lambda subsystems: None)
    ticks = threading.Semaphore(0)
    watching(ticks.release, rescan_interval=0.01)
    assert all(ticks.acquire(timeout=2.0) for _ in range(3))


def test_a_failing_callback_does_not_end_the_watch(monkeypatch, watching) -> None:
    """Guards the watcher thread: a bug in on_change is logged, watching goes on."""
    monkeypatch.setattr(hotplug, "open_monitor", lambda subsystems: None)
    calls = threading.Semaphore(0)

    def on_change() -> None:
        calls.release()
        raise RuntimeError("bug")

    watching(on_change, rescan_interval=0.01)
    assert calls.acquire(timeout=2.0) and calls.acquire(timeout=2.0)


def test_open_monitor_never_raises() -> None:
    """Guards start-up: with or without udev, asking for a monitor must not crash."""
    monitor = hotplug.open_monitor(("input", "tty"))
    assert monitor is None or hasattr(monitor, "poll")
