"""The configuration file: typed sections, and a clear sentence for every key that is wrong."""
from __future__ import annotations

import pytest

from station.config import Config, from_dict, load
from station.domain.errors import ConfigError
from station.domain.vocabulary import Mode


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param({"databse": {"url": "sqlite:///x.db"}}, "unknown key 'databse': did you mean 'database'?",
                     id="misspelled_section"),
        pytest.param({"web": {"prot": 8700}}, "[web]: unknown key 'prot': did you mean 'port'?", id="misspelled_key"),
        pytest.param({"stations": [{"id": "a", "mdoe": "sell"}]}, "unknown key 'mdoe': did you mean 'mode'?",
                     id="misspelled_station_key"),
        pytest.param({"stations": [{"id": "a", "scanners": [{"path": "/dev/x", "baudrat": 9600}]}]},
                     "station a scanner #1: unknown key 'baudrat': did you mean 'baudrate'?",
                     id="misspelled_scanner_key"),
        pytest.param({"web": {"colour": "red"}}, "[web]: unknown key 'colour' (known: host, port, threads, "
                     "timezone, max_streams, max_streams_per_client)", id="unknown_key_lists_known"),
        pytest.param({"web": {"max_streams": 0}}, "[web]: max_streams must be from 1 to 100000, not 0",
                     id="max_streams_range"),
        pytest.param({"web": {"port": "eighty"}}, "[web]: port must be a whole number, not 'eighty'", id="port_text"),
        pytest.param({"web": {"port": 70000}}, "[web]: port must be from 0 to 65535, not 70000", id="port_range"),
        pytest.param({"web": "8700"}, "[web] must be a table of settings", id="section_not_table"),
        pytest.param({"stations": [{"id": "a", "scanners": [{"kind": "serial", "path": "/dev/x",
                                                             "baudrate": "fast"}]}]},
                     "baudrate must be a whole number, not 'fast'", id="baudrate_text"),
        pytest.param({"database": {"url": "mysql://x"}}, "database url mysql://... is not supported", id="mysql_url"),
        pytest.param({"stations": [{"id": "a", "mode": "lend"}]},
                     "mode must be one of receive, sell, return, service, move, count, not 'lend'",
                     id="unknown_mode"),
        pytest.param({"web": {"timezone": "Mars/Olympus"}}, "[web] timezone 'Mars/Olympus' is not a time zone",
                     id="unknown_zone"),
        pytest.param({"scanning": {"document_pattern": "(["}}, "document_pattern is not a regular expression",
                     id="bad_pattern"),
        pytest.param({"stations": [{"id": "a"}, {"id": "a"}]}, "two [[stations]] share one id", id="duplicate_station"),
        pytest.param({"stations": [{"id": "a", "scanners": [{"path": "/dev/x", "parity": "sideways"}]}]},
                     "parity must be one of none, even, odd, mark, space", id="bad_parity"),
    ],
)
def test_a_wrong_key_is_refused_by_name(data, says, monkeypatch):
    """Guards against a typo or a wrong type leaving the station running on defaults, or a traceback."""
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError) as caught:
        from_dict(data)
    assert says in caught.value.message


def test_sections_are_typed(monkeypatch, tmp_path):
    """Every key that is read lands in its typed section; relative paths are relative to the file."""
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    path = tmp_path / "station.toml"
    path.write_text("""
[database]
url = "sqlite:///data/st.db"
[web]
host = "0.0.0.0"
port = 8800
threads = 8
timezone = "Europe/Berlin"
max_streams = 50
max_streams_per_client = 4
[scanning]
gs_substitute = "|"
[daemon]
spool = "held.db"
keep_done = 5
[[stations]]
id = "goods-in"
mode = "receive"
[[stations.scanners]]
kind = "serial"
path = "/dev/barcode/tty-1"
baudrate = 115200
parity = "even"
""", encoding="utf-8")
    config = load(path)
    assert config.database.url == f"sqlite:///{tmp_path}/data/st.db"
    assert (config.web.host, config.web.port, config.web.threads, config.web.timezone) == (
        "0.0.0.0", 8800, 8, "Europe/Berlin")
    assert (config.web.max_streams, config.web.max_streams_per_client) == (50, 4)
    assert config.web.zone is not None and config.web.zone.key == "Europe/Berlin"
    assert config.scanning.gs_substitute == "|"
    assert config.daemon.keep_done == 5 and config.spool_path == tmp_path / "held.db"
    station = config.station("goods-in")
    assert station.mode is Mode.receive
    assert (station.scanners[0].baudrate, station.scanners[0].parity) == (115200, "E")


def test_defaults_without_a_file(monkeypatch, tmp_path):
    """No file at all: SQLite ./station.db, web on 127.0.0.1:8700, one station `default` selling."""
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    monkeypatch.delenv("STATION_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    config = load()
    assert config == Config()
    assert (config.database.url, config.web.host, config.web.port) == ("sqlite:///station.db", "127.0.0.1", 8700)
    assert [(s.id, s.mode) for s in config.stations] == [("default", Mode.sell)]


def test_an_unreadable_file_is_one_sentence(tmp_path):
    """A file that is not UTF-8 or not TOML is refused with its name, not a traceback."""
    bad = tmp_path / "station.toml"
    bad.write_bytes(b"[web]\nhost = \"caf\xe9\"\n")
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load(bad)
    bad.write_text("[web\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=str(bad)):
        load(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "none.toml")
