"""Only ``init``, ``run``, ``serve`` and ``demo`` make a database; every other command needs the station's own
(issue 20, item 6).

Run in a folder without the station's configuration, ``station import
products upc.csv`` used to answer "1 rows: 1 created" into a new, empty
``./station.db`` there. Each command now refuses in one sentence naming the
file (or URL, its password hidden) it looked for and how to point at the
station's configuration, and leaves nothing behind: no SQLite file, no
tables in a PostgreSQL schema. The databases are real: a SQLite file and a
schema of its own on the local PostgreSQL.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.database import PG_URL, require_pg
from sqlalchemy import inspect, text

from station.cli.main import cli
from station.storage.db import alembic_config, current_revision, head_revision, make_engine

NEEDS_THE_DATABASE = [
    pytest.param(["import", "products", "upc.csv"], id="import_products"),
    pytest.param(["import", "purchase-orders", "orders.csv"], id="import_purchase_orders"),
    pytest.param(["import", "asn", "asn.csv"], id="import_asn"),
    pytest.param(["export", "movements"], id="export"),
    pytest.param(["export", "epcis"], id="export_epcis"),
    pytest.param(["check"], id="check"),
    pytest.param(["scan", "default", "CMD:SELL"], id="scan"),
    pytest.param(["labels", "serials", "--product", "WID-1", "--count", "2"], id="labels_serials"),
    pytest.param(["labels", "commands", "--operators"], id="labels_operators"),
    pytest.param(["labels", "commands", "--parties"], id="labels_parties"),
    pytest.param(["operator", "add", "ANN", "Ann"], id="operator_add"),
    pytest.param(["operator", "list"], id="operator_list"),
    pytest.param(["operator", "deactivate", "ANN"], id="operator_deactivate"),
    pytest.param(["outbox", "list"], id="outbox_list"),
    pytest.param(["outbox", "retry"], id="outbox_retry"),
    pytest.param(["token", "create", "erp"], id="token_create"),
    pytest.param(["token", "list"], id="token_list"),
    pytest.param(["token", "revoke", "erp"], id="token_revoke"),
    pytest.param(["printers"], id="printers"),
]
POINTERS = ("--config FILE", "STATION_CONFIG", "STATION_DATABASE_URL")


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    """A folder with no station.toml and no station variables, holding the CSV files a user would import."""
    monkeypatch.delenv("STATION_CONFIG", raising=False)
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "upc.csv").write_text("code,name\nWID-1,Widget\n", encoding="utf-8")
    (tmp_path / "orders.csv").write_text("reference,supplier,product,quantity\nPO-1,ACME,WID-1,1\n", encoding="utf-8")
    (tmp_path / "asn.csv").write_text("reference,product,serial\nPO-1,WID-1,S-1\n", encoding="utf-8")
    return tmp_path


def refusal(result) -> str:
    """The one sentence a refused command printed (exit 1, no traceback)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if "station database" in line or "station tables" in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("args", NEEDS_THE_DATABASE)
def test_a_command_in_another_folder_makes_no_database(elsewhere, args):
    """Guards against a command run away from the station's configuration creating and filling a fresh
    ./station.db there: it names the file it looked for and how to point at the configuration, exit 1."""
    sentence = refusal(CliRunner().invoke(cli, args))
    assert f"there is no station database at {elsewhere / 'station.db'}" in sentence
    assert all(pointer in sentence for pointer in POINTERS), sentence
    assert not (elsewhere / "station.db").exists()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["asn.csv", "orders.csv", "upc.csv"]


def test_the_issue_s_import_through_the_real_command(elsewhere):
    """Guards the reported case end to end: `station import products upc.csv` in another folder, through the
    installed entry point, says "no station database at <that folder>/station.db" on stderr and creates none."""
    env = {k: v for k, v in os.environ.items() if k not in ("STATION_CONFIG", "STATION_DATABASE_URL")}
    done = subprocess.run([sys.executable, "-m", "station", "import", "products", "upc.csv"], cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == "" and "created" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: there is no station database at "
                                                                  f"{elsewhere / 'station.db'}"), done.stderr
    assert not (elsewhere / "station.db").exists()


def test_the_sentence_names_the_configuration_that_named_the_file(elsewhere):
    """Guards a sentence that hides where the path came from: a configuration naming a file that is not there
    is named, with the file resolved beside it."""
    config = elsewhere / "conf" / "station.toml"
    config.parent.mkdir()
    config.write_text('[database]\nurl = "sqlite:///data/station.db"\n', encoding="utf-8")
    sentence = refusal(CliRunner().invoke(cli, ["--config", str(config), "check"]))
    assert f"no station database at {config.parent / 'data' / 'station.db'} (named by {config})" in sentence
    assert not (config.parent / "data").exists()


@pytest.mark.parametrize("args", [pytest.param(["init"], id="init"), pytest.param(["demo"], id="demo")])
def test_init_and_demo_still_create_the_database(elsewhere, args):
    """Guards the other side: `station init` and `station demo` make ./station.db where there is none, and the
    commands then find it."""
    made = CliRunner().invoke(cli, args)
    assert made.exit_code == 0, made.output
    assert (elsewhere / "station.db").is_file()
    checked = CliRunner().invoke(cli, ["check"])
    assert checked.exit_code == 0 and "Stock agrees with the movements." in checked.stdout, checked.output


def test_an_empty_file_left_by_the_old_bug_is_not_a_station_database(elsewhere):
    """Guards against taking an empty station.db (as a command of before left behind) for the station's: the
    command says it has no station tables and leaves the file as it was (no tables, not even WAL mode)."""
    (elsewhere / "station.db").touch()
    sentence = refusal(CliRunner().invoke(cli, ["import", "products", "upc.csv"]))
    assert f"the database at {elsewhere / 'station.db'} has no station tables" in sentence
    assert "station init" in sentence and all(pointer in sentence for pointer in POINTERS)
    assert (elsewhere / "station.db").stat().st_size == 0


def test_a_file_that_is_not_a_database_is_one_sentence(elsewhere):
    """Guards against a traceback (or a file overwritten) when the configured path holds something else."""
    (elsewhere / "station.db").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    sentence = refusal(CliRunner().invoke(cli, ["token", "list"]))
    assert "cannot be read as a station database" in sentence
    assert (elsewhere / "station.db").read_text(encoding="utf-8").startswith("root:x:0:0")


# -- the same on each backend: a database that exists without the station's tables, or at an old migration --

@pytest.fixture(params=["sqlite", "postgresql"])
def bare(request, tmp_path, monkeypatch):
    """(URL as STATION_DATABASE_URL, as the sentence shows it, an engine on it): an empty SQLite file, or an
    empty PostgreSQL schema reached as a user with a password (trust auth takes any)."""
    monkeypatch.delenv("STATION_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    if request.param == "sqlite":
        path = tmp_path / "bare.db"
        path.touch()
        url = f"sqlite:///{path}"
        monkeypatch.setenv("STATION_DATABASE_URL", url)
        engine = make_engine(url)
        yield url, str(path), engine
        engine.dispose()
        return
    require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}".replace("://", "://postgres:s3cret@", 1)
    monkeypatch.setenv("STATION_DATABASE_URL", url)
    engine = make_engine(url)
    yield url, url.replace("s3cret", "***"), engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_a_database_without_station_tables_is_refused(bare):
    """Guards against a command setting up the station's tables in whatever database it was pointed at: it
    names the URL (password hidden), says there are no station tables, and creates none."""
    _, shown, engine = bare
    sentence = refusal(CliRunner().invoke(cli, ["operator", "add", "ANN", "Ann"]))
    assert f"the database at {shown} has no station tables (named by STATION_DATABASE_URL)" in sentence
    assert "s3cret" not in sentence and "station init" in sentence
    assert inspect(engine).get_table_names() == []


def test_a_database_at_an_older_migration_is_brought_up_to_date(bare):
    """Guards what every command did before: the station's database at an older migration is migrated, as
    station init would, and the command says so and does its work."""
    from alembic import command

    _, _, engine = bare
    command.upgrade(alembic_config(engine), "0005")
    result = CliRunner().invoke(cli, ["operator", "add", "ANN", "Ann"])
    assert result.exit_code == 0, result.output
    assert f"The database was at migration 0005; migrated it to {head_revision()}" in result.stderr
    assert "Operator ANN (Ann) added" in result.stdout
    assert current_revision(engine) == head_revision()


def test_a_database_of_a_newer_station_is_refused(bare):
    """Guards against a traceback (alembic's "Can't locate revision") on a database a newer version set up."""
    from alembic import command

    _, shown, engine = bare
    command.upgrade(alembic_config(engine), "head")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"Error: the database at {shown} is at migration 0099, which this version" in result.stderr
