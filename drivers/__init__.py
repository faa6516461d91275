"""Drivers: turn scanners into lines of text, and nothing more.

- ``keydecoder`` / ``layouts`` / ``keymap_us``: key events to text (pure).
- ``evtest``: read ``evtest`` and ``categorize()`` captures back into events.
- ``framing``: bytes from a serial port to lines (pure).
- ``serial_reader`` / ``evdev_reader``: threads that open, read, hand on and
  reopen a device that went away.
- ``discovery`` / ``hotplug``: which devices exist, which are configured,
  and a nudge when that changes.

Nothing is imported here so that the pure modules work without evdev.
"""
