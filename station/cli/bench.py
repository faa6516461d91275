"""``station bench``: the SPEC 6 figures as one JSON document on the last line of output."""
from __future__ import annotations

import json
import sys

import click

from station.bench import DEFAULTS


@click.command()
@click.option("--database", "databases", multiple=True, metavar="URL",
              help="sqlite:///NEW_FILE or postgresql://HOST/DB (a scratch schema is made and dropped); "
                   "repeatable. Default: a temporary SQLite file, and the local PostgreSQL when it answers.")
@click.option("--serials", default=DEFAULTS["serials"], show_default=True, type=click.IntRange(100),
              help="Serials to fill the database with (about 5 movements each).")
@click.option("--locations", default=0, show_default=True, type=click.IntRange(0, 100_000),
              help="Locations under the site MAIN to fill (aisles of 24 bins), the units in stock spread over them.")
@click.option("--stations", default=DEFAULTS["stations"], show_default=True, type=click.IntRange(1, 64),
              help="Stations scanning at once (a thread and a connection each).")
@click.option("--scans", default=DEFAULTS["scans"], show_default=True, type=click.IntRange(1),
              help="Scans per station.")
@click.option("--history-samples", default=200, show_default=True, type=click.IntRange(1),
              help="Serial records and histories served, for the history figure.")
@click.option("--seed", default=1, show_default=True, help="Seed of the scan mix.")
@click.option("--pallet", default=DEFAULTS["pallet"], show_default=True, type=click.IntRange(0),
              help="Serials of one large receipt, scanned then posted (0: leave it out).")
@click.option("--big-posting", default=DEFAULTS["big_posting"], show_default=True, type=click.IntRange(0),
              help="Lines of a receipt only posted (0: leave it out).")
@click.option("--http", "http_scans", default=DEFAULTS["http"], show_default=True, type=click.IntRange(0),
              help="Scans over HTTP to a real station serve, on each database (0: leave it out).")
@click.option("--daemon", "daemon_scans", default=DEFAULTS["daemon"], show_default=True, type=click.IntRange(0),
              help="Scans from a pseudo-terminal through a real station run to the screen, on each database "
                   "(0: leave it out).")
@click.option("--hook-stations", default=DEFAULTS["hook_stations"], show_default=True, type=click.IntRange(0, 64),
              help="Stations posting at once for the webhook lag and event feed figures (0: none).")
@click.option("--hook-postings", default=DEFAULTS["hook_postings"], show_default=True, type=click.IntRange(1),
              help="Receipts each of those stations posts.")
@click.option("--drain", "drain_scans", default=DEFAULTS["drain"], show_default=True, type=click.IntRange(0),
              help="Scans held in a spool as an outage leaves them, then drained by the daemon's processor "
                   "(0: leave it out).")
@click.option("--count", "count_units", default=DEFAULTS["count"], show_default=True, type=click.IntRange(0),
              help="Units of one count (stocktake) of a shelf, posted (0: leave it out).")
@click.option("--hotplug", is_flag=True, help="Instead: how soon a replugged scanner is read again (evdev under "
              "umockdev, serial on a pseudo-terminal), over --replugs replugs.")
@click.option("--replugs", default=10, show_default=True, type=click.IntRange(1), help="Replugs for --hotplug.")
@click.option("--kill", is_flag=True, help="Instead: a serial scanner sending --rate lines a second while station run "
              "is killed (kill -9) --kills times in each of --runs runs: lines lost, doubled, reordered, fragments.")
@click.option("--rate", default=250.0, show_default=True, type=click.FloatRange(1, 5000),
              help="Lines a second for --kill.")
@click.option("--runs", default=10, show_default=True, type=click.IntRange(1), help="Runs for --kill.")
@click.option("--kills", default=8, show_default=True, type=click.IntRange(1), help="Kills per run for --kill.")
@click.option("--processes", default=0, type=click.IntRange(0, 64), metavar="N",
              help="Instead: N stations, each its own process and connection, on each database: throughput at "
                   "saturation (--scans each), latency at --paced-rate scans/s each, then station check.")
@click.option("--paced-rate", default=2.0, show_default=True, type=click.FloatRange(0.1, 100),
              help="Scans a second per station in the paced phase of --processes.")
@click.option("--paced-seconds", default=10.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="How long the paced phase of --processes lasts.")
def bench(databases: tuple[str, ...], serials: int, locations: int, stations: int, scans: int, history_samples: int,
          seed: int, pallet: int, big_posting: int, http_scans: int, daemon_scans: int, hook_stations: int,
          hook_postings: int, hotplug: bool, replugs: int, kill: bool, rate: float, runs: int, kills: int,
          processes: int, paced_rate: float, paced_seconds: float, drain_scans: int, count_units: int) -> None:
    """Fill a scratch database, scan through it, and print the figures as JSON (last line).

    Progress and a human summary go to stderr; stdout holds only the JSON.
    """
    if hotplug:
        from station.bench.replugs import measure

        click.echo(json.dumps(measure(replugs)))
        return
    if kill:
        from station.bench import kill as kills_bench

        click.echo(json.dumps(kills_bench.measure(rate, runs, kills, seed=seed,
                                                  say=lambda s: click.echo(s, err=True))))
        return
    from station.bench import Extras, run, run_processes

    bars = []

    def progress(label: str, total: int):
        bar = click.progressbar(length=total, label=label, file=sys.stderr)
        bar.__enter__()
        bars.append(bar)

        def tick(n: int) -> None:
            bar.update(n)
            if bar.pos >= total:
                bar.__exit__(None, None, None)
        return tick

    try:
        if processes:
            click.echo(json.dumps(run_processes(databases, serials=serials, locations=locations,
                                                processes=processes, scans=scans, seconds=paced_seconds,
                                                rate=paced_rate, seed=seed,
                                                progress=progress, say=lambda s: click.echo(s, err=True))))
            return
        result = run(databases, serials=serials, locations=locations, stations=stations, scans=scans,
                     history_samples=history_samples,
                     seed=seed, extras=Extras(pallet, big_posting, http_scans, daemon_scans, hook_stations,
                                              hook_postings, drain_scans, count_units), progress=progress,
                     say=lambda s: click.echo(s, err=True))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(result))
