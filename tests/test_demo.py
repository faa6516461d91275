"""station demo, then a receive and a sale through the scan API: the first run a newcomer makes."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from station.cli.main import cli
from station.config import from_dict
from web.app import create_app


def test_demo_then_receive_and_sell_over_http(db, tmp_path, monkeypatch):
    """The demo records are enough to receive against PO-1001 and sell a serial, by scans posted to the API."""
    monkeypatch.setenv("STATION_DATABASE_URL", db.url)
    result = CliRunner().invoke(cli, ["demo", "--labels", str(tmp_path / "labels")])
    assert result.exit_code == 0, result.output
    assert "created purchase order PO-1001" in result.output
    assert (tmp_path / "labels" / "index.html").is_file()
    again = CliRunner().invoke(cli, ["demo", "--labels", str(tmp_path / "labels")])
    assert again.exit_code == 0 and "created" not in again.output, again.output

    app = create_app(from_dict({"stations": [{"id": "default", "mode": "sell"}]}), engine=db.engine)
    client = app.test_client()

    def scan(text: str) -> dict:
        answer = client.post("/api/stations/default/scans", json={"data": text})
        assert answer.status_code == 200
        return answer.get_json()

    for text in ("CMD:RECEIVE", "PO-1001", "4006381333931", "DEMO-SN-1", "DEMO-SN-2"):
        assert scan(text)["accepted"], text
    assert scan("DEMO-SN-2")["code"] == "serial_on_open_document"
    posted = scan("CMD:FINISH")
    assert posted["accepted"] and posted["document"]["status"] == "posted"
    order = client.get("/api/documents/PO-1001").get_json()
    assert [(line["product"]["code"], line["expected"], line["received"]) for line in order["lines"]] == [
        ("PHONE-1", 3, 2), ("CABLE-1", 10, 0)]
    for text in ("CMD:SELL", "CUS:DEMO-CUS", "DEMO-SN-1"):
        assert scan(text)["accepted"], text
    sold = scan("CMD:FINISH")
    assert sold["accepted"] and sold["document"]["kind"] == "sale"
    record = client.get("/api/serials/DEMO-SN-1").get_json()
    assert record["in_stock"] is False and record["customer"]["code"] == "DEMO-CUS"
    assert [m["kind"] for m in record["movements"]] == ["receipt", "sale"]
    phone = client.get("/api/products/PHONE-1").get_json()
    assert (phone["on_hand"], phone["serials_in_stock"]) == (1, 1)


@pytest.mark.parametrize("stations, named, first", [
    pytest.param([("till-1", "sell"), ("goods-in", "receive"), ("dock-2", "receive")], "goods-in", "PO-1001",
                 id="first_receiving_station"),
    pytest.param([("counter", "sell"), ("repairs", "service")], "counter", "CMD:RECEIVE",
                 id="no_receiving_station"),
])
def test_the_demo_hint_names_a_configured_station(db, tmp_path, stations, named, first):
    """Issue 20: after `station demo` the hint named the station `default`, which a configuration with its own
    stations does not have. It names the first receiving station (else the first), and its scans work there."""
    config = tmp_path / "station.toml"
    config.write_text(f'[database]\nurl = "{db.url}"\n[web]\nport = 8123\n'
                      + "".join(f'[[stations]]\nid = "{sid}"\nmode = "{mode}"\n' for sid, mode in stations),
                      encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "demo", "--labels", str(tmp_path / "labels")])
    assert result.exit_code == 0, result.output
    [hint] = [line for line in result.stdout.splitlines() if line.startswith("Try it: ")]
    assert hint.startswith(f"Try it: station scan {named} {first}")
    assert hint.endswith(f"http://127.0.0.1:8123/stations/{named}") and "default" not in hint
    for text in (["CMD:RECEIVE"] if first == "CMD:RECEIVE" else []) + ["PO-1001", "4006381333931", "DEMO-SN-1"]:
        scanned = CliRunner().invoke(cli, ["--config", str(config), "scan", named, text])
        assert scanned.exit_code == 0, (text, scanned.output)
    assert "1 of 3 received" in scanned.stdout
