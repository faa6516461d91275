"""``station devices`` and ``station decode-evtest``: for finding and diagnosing scanners."""
from __future__ import annotations

from pathlib import Path

import click

from station.domain.wording import plural

from .invocation import Context, pass_ctx


def _match_for(scanner):
    from drivers.discovery import DeviceMatch

    return DeviceMatch(path=scanner.path, vendor_product=scanner.vendor_product, name=scanner.name)


@click.command()
@pass_ctx
def devices(ctx: Context) -> None:
    """List input and serial devices, whether each looks like a scanner, and the station it would feed."""
    from drivers.discovery import list_devices

    config = ctx.config
    found = list_devices()
    wanted = [(station.id, scanner) for station in config.stations for scanner in station.scanners]
    claimed: set[tuple[str, str]] = set()
    if not found:
        click.echo("No input or serial devices found (is this user in the 'input'/'barcode' group?).")
    for info in found:
        feeds = [sid for sid, scanner in wanted
                 if scanner.kind == ("evdev" if info.kind == "input" else "serial")
                 and _match_for(scanner).matches(info)]
        for sid, scanner in wanted:
            if sid in feeds and _match_for(scanner).matches(info):
                claimed.add((sid, scanner.label))
        vp = f"{info.vendor or '----'}:{info.product or '----'}"
        scanner_word = "scanner" if info.looks_like_scanner else "-"
        station = ", ".join(feeds) if feeds else "(not used: never grabbed)"
        click.echo(f"{info.kind:6} {vp}  {scanner_word:7}  {info.path}  {info.name!r}  -> {station}")
        for link in info.stable_paths:
            click.echo(f"{'':6} {'':9}  {'':7}  {link}")
    for sid, scanner in wanted:
        if (sid, scanner.label) not in claimed:
            click.echo(f"missing: station {sid} expects {scanner.kind} scanner {scanner.label}")


@click.command("decode-evtest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layout", default="us", show_default=True, help="Keyboard layout the scanner emulates.")
@click.option("--terminators", default="enter,kpenter,tab", show_default=True,
              help="Keys that end a scan, comma-separated; empty for a scanner set without a suffix.")
@click.option("--idle-gap-ms", type=click.IntRange(0), default=50, show_default=True,
              help="Pause that ends a scan when there are no terminators (0: none).")
@click.option("--lost-terminator-ms", type=click.IntRange(0), default=1000, show_default=True,
              help="Pause that ends a scan whose terminator was lost (0: none).")
def decode_evtest(file: Path, layout: str, terminators: str, idle_gap_ms: int, lost_terminator_ms: int) -> None:
    """Decode an evtest (or python-evdev categorize) capture into the scans it holds, one a line.

    Exit 1, with a sentence naming the file, when it holds no key events (not a capture, or an empty one) or
    its keys type nothing: a silent exit 0 looked like a capture of a scanner that sent nothing.
    """
    from drivers.errors import DriverError
    from drivers.evtest import decode_events, parse_capture
    from drivers.keymap_us import EV_KEY

    keys = frozenset(t if t.startswith("KEY_") else "KEY_" + t.strip().upper()
                     for t in terminators.split(",") if t.strip())
    events = list(parse_capture(file.read_text(encoding="utf-8", errors="replace").splitlines()))
    pressed = sum(1 for event in events if event.type == EV_KEY)
    if not pressed:
        raise click.ClickException(f"No key events were found in {file}: an evtest capture holds lines such as "
                                   "'Event: time 1700000000.000100, type 1 (EV_KEY), code 30 (KEY_A), value 1'.")
    try:
        scans = decode_events(events, layout=layout, idle_gap=idle_gap_ms / 1000 if idle_gap_ms else None,
                              terminators=keys,
                              lost_terminator=lost_terminator_ms / 1000 if lost_terminator_ms else None)
    except ValueError as exc:  # an unknown terminator key name
        raise click.BadParameter(str(exc), param_hint="--terminators") from None
    except DriverError as exc:
        raise click.ClickException(str(exc)) from None
    if not scans:
        raise click.ClickException(f"{file} holds {plural(pressed, 'key event')} but no characters, so no scan.")
    for scan in scans:
        click.echo(scan)
