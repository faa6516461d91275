"""Every command answers a missing database or bad input with one sentence and exit 1, never a traceback
(issue 10, defect 9).

The database is really unreachable: PostgreSQL on a closed port, or a SQLite
file in a folder that does not exist. The commands run through click's
CliRunner (the root group's own handling), and one through the real
``station`` entry point in a subprocess.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from station.cli.main import cli


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["postgresql", "sqlite"])
def unreachable(request, tmp_path, monkeypatch):
    """STATION_DATABASE_URL naming a database that cannot be reached: (the URL as the sentence shows it, what
    a command that may not create a database says instead, if it says something else)."""
    if request.param == "postgresql":
        url, shown = (f"postgresql+psycopg://clerk:s3cret@127.0.0.1:{closed_port()}/station",
                      "postgresql+psycopg://clerk:***@127.0.0.1:")
        missing = None
    else:
        url = shown = f"sqlite:///{tmp_path}/no-such-folder/station.db"
        missing = f"there is no station database at {tmp_path}/no-such-folder/station.db"
    monkeypatch.setenv("STATION_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "products.csv").write_text("code,name\nWID-1,Widget\n", encoding="utf-8")
    return shown, missing


CREATE = {"init", "demo", "serve"}  # the commands that may create the database (and run)
COMMANDS = [
    pytest.param(["init"], id="init"),
    pytest.param(["scan", "default", "CMD:SELL"], id="scan"),
    pytest.param(["check"], id="check"),
    pytest.param(["import", "products", "products.csv"], id="import"),
    pytest.param(["export", "movements"], id="export"),
    pytest.param(["demo"], id="demo"),
    pytest.param(["token", "list"], id="token"),
    pytest.param(["labels", "serials", "--product", "WID-1", "--count", "2"], id="labels"),
    pytest.param(["serve"], id="serve"),
]


@pytest.mark.parametrize("args", COMMANDS)
def test_an_unreachable_database_is_one_sentence(unreachable, args):
    """Guards against an OperationalError traceback from any command when the database is away."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.output
    shown, missing = unreachable
    if missing is not None and args[0] not in CREATE:  # a SQLite file not there: only these may make it
        assert missing in lines[0]
    else:
        assert shown in lines[0] and ("cannot be reached" in lines[0] or "cannot prepare" in lines[0])
    assert "Traceback" not in result.output and "s3cret" not in result.output


def test_the_real_command_answers_one_line_on_stderr(tmp_path):
    """Guards the entry point itself: `station scan` against a closed port prints one line and exits 1."""
    env = {**os.environ, "STATION_DATABASE_URL": f"postgresql+psycopg://127.0.0.1:{closed_port()}/station"}
    env.pop("STATION_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "station", "scan", "default", "CMD:SELL"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: the database at postgresql"), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("config, words", [
    pytest.param('[database]\nurl = "mysql://x"\n', "is not supported", id="mysql_url"),
    pytest.param('[web]\nport = "eighty"\n', "port must be a whole number", id="port_not_a_number"),
    pytest.param('[databse]\nurl = "sqlite:///x.db"\n', "did you mean 'database'", id="misspelled_section"),
])
def test_a_bad_configuration_is_one_sentence(tmp_path, monkeypatch, config, words):
    """Guards against a traceback (ModuleNotFoundError, ValueError) for a configuration that cannot work."""
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    path = tmp_path / "station.toml"
    path.write_text(config, encoding="utf-8")
    for args in (["check"], ["scan", "default", "X"], ["serve"]):
        result = CliRunner().invoke(cli, ["--config", str(path), *args])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        assert words in result.output and "Traceback" not in result.output


def test_an_excel_csv_in_cp1252_imports(db, tmp_path, monkeypatch):
    """Guards against a UnicodeDecodeError traceback on an Excel export: it is read as Windows-1252 (and says
    so), `--encoding` overrides, and a file no rule reads is one sentence naming its line."""
    from sqlalchemy import select

    from station.domain.models import Product

    monkeypatch.setenv("STATION_DATABASE_URL", db.url)
    monkeypatch.chdir(tmp_path)
    excel = tmp_path / "excel.csv"
    excel.write_bytes("code,name\r\nCAFÉ-1,Café crème\r\n".encode("cp1252"))
    result = CliRunner().invoke(cli, ["import", "products", str(excel)])
    assert result.exit_code == 0, result.output
    assert "read as Windows-1252" in result.output
    with db.Session() as s:
        assert s.scalar(select(Product.name).where(Product.code == "CAFÉ-1")) == "Café crème"

    as_utf8 = CliRunner().invoke(cli, ["import", "products", str(excel), "--encoding", "utf-8"])
    assert as_utf8.exit_code == 1 and "line 2: the file is not utf-8 text" in as_utf8.output
    unknown = CliRunner().invoke(cli, ["import", "products", str(excel), "--encoding", "klingon"])
    assert unknown.exit_code == 1 and "not an encoding" in unknown.output
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"code,name\nX,\x81\x8d\n")
    bad = CliRunner().invoke(cli, ["import", "products", str(garbage)])
    assert bad.exit_code == 1 and "line 2: the file is neither UTF-8 nor Windows-1252" in bad.output
    for result in (as_utf8, unknown, bad):
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
