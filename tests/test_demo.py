"""station demo, then a receive and a sale through the scan API: the first run a newcomer makes."""
from __future__ import annotations

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
    assert [(l["product"]["code"], l["expected"], l["received"]) for l in order["lines"]] == [
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
