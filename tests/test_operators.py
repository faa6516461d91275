"""Operators as records: the API, the command line, the /operators page and their badges on the command sheet."""
from __future__ import annotations

import pytest
import zxingcpp
from click.testing import CliRunner
from helpers.api import assert_error
from PIL import Image

from station.cli.main import cli
from station.domain import operators


def test_api_creates_lists_renames_and_deactivates(client, db):
    """Guards SPEC 5's operator endpoints: 201 with the record, 409 for a taken code, the list's shape, PATCH of
    name and active, and the code (what the badge holds) read-only."""
    created = client.post("/api/operators", json={"code": "U17", "name": "Jane Doe"})
    assert created.status_code == 201 and created.get_json() == {"code": "U17", "name": "Jane Doe", "active": True}
    assert created.headers["Location"].endswith("/api/operators/U17")
    assert_error(client.post("/api/operators", json={"code": "U17", "name": "Other"}), 409, "duplicate")
    client.post("/api/operators", json={"code": "A2", "name": "Al"})
    listed = client.get("/api/operators").get_json()
    assert listed == {"operators": [{"code": "A2", "name": "Al", "active": True},
                                    {"code": "U17", "name": "Jane Doe", "active": True}],
                      "page": 1, "per_page": 50, "total": 2}
    assert client.patch("/api/operators/U17", json={"name": "Jane Roe"}).get_json()["name"] == "Jane Roe"
    assert client.patch("/api/operators/U17", json={"active": False}).get_json()["active"] is False
    assert client.get("/api/operators?active=true").get_json()["total"] == 1
    assert client.get("/api/operators/U17").get_json() == {"code": "U17", "name": "Jane Roe", "active": False}
    assert_error(client.patch("/api/operators/U17", json={"code": "U99"}), 400, "read_only")
    assert_error(client.patch("/api/operators/U17", json={"active": "no"}), 400, "invalid_field")
    assert_error(client.patch("/api/operators/U17", json={"colour": "red"}), 400, "unknown_field")
    assert_error(client.patch("/api/operators/NOPE", json={"name": "x"}), 404, "unknown_operator")


@pytest.mark.parametrize("code", [pytest.param("U 17", id="space"), pytest.param("Ü17", id="not_ascii"),
                                  pytest.param("", id="empty"), pytest.param("U" * 65, id="too_long")])
def test_a_code_no_badge_could_hold_is_refused(client, db, code):
    """Guards the badge: a code is sent whole by a scanner from a Code 128 label (ASCII, no spaces, 1-64)."""
    assert_error(client.post("/api/operators", json={"code": code, "name": "X"}), 400, "invalid_field")


def test_command_line_adds_lists_and_deactivates(db, tmp_path, monkeypatch):
    """Guards ``station operator add|list|deactivate`` and a taken code answered in one sentence."""
    monkeypatch.setenv("STATION_DATABASE_URL", db.url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["operator", "add", "U17", "Jane Doe"]).exit_code == 0
    again = runner.invoke(cli, ["operator", "add", "U17", "Jane Doe"])
    assert again.exit_code == 1 and "Operator U17 exists already." in again.output
    runner.invoke(cli, ["operator", "add", "B2", "Bob"])
    assert runner.invoke(cli, ["operator", "deactivate", "B2"]).exit_code == 0
    assert runner.invoke(cli, ["operator", "list"]).output.splitlines() == ["U17\tJane Doe\tactive"]
    assert runner.invoke(cli, ["operator", "list", "--all"]).output.splitlines() == [
        "B2\tBob\tdeactivated", "U17\tJane Doe\tactive"]
    missing = runner.invoke(cli, ["operator", "deactivate", "NOPE"])
    assert missing.exit_code == 1 and "There is no operator NOPE." in missing.output


def test_badges_on_the_command_sheet_scan_as_usr_codes(db, tmp_path, monkeypatch):
    """Guards ``station labels commands --operators``: a badge per active operator, whose PNG reads back as
    ``USR:<code>`` (and CMD:LOGOUT is on the sheet); a deactivated operator gets none."""
    with db.Session.begin() as s:
        operators.create_operator(s, "U17", "Jane Doe")
        operators.update_operator(s, operators.create_operator(s, "OLD", "Gone"), active=False)
    monkeypatch.setenv("STATION_DATABASE_URL", db.url)
    out = tmp_path / "sheet"
    result = CliRunner().invoke(cli, ["labels", "commands", "--operators", "--out", str(out)])
    assert result.exit_code == 0, result.output
    read = {r.text for png in out.glob("*.png") for r in zxingcpp.read_barcodes(Image.open(png))}
    assert {"USR:U17", "CMD:LOGOUT"} <= read and "USR:OLD" not in read
    assert "Operator: Jane Doe" in (out / "index.html").read_text(encoding="utf-8")


def csrf(client) -> str:
    client.get("/operators")
    with client.session_transaction() as session:
        return session["csrf_token"]


def test_the_operators_page_adds_renames_deactivates_and_shows_badges(client, db):
    """Guards the /operators page: its forms change the records, its text is escaped, each row has its badge."""
    token = csrf(client)
    page = client.post("/operators", data={"action": "create", "code": "U17", "name": "<b>Jane</b>",
                                           "csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "&lt;b&gt;Jane&lt;/b&gt;" in page and "<b>Jane</b>" not in page and "<svg" in page
    client.post("/operators", data={"action": "rename", "code": "U17", "name": "Jane", "csrf_token": token})
    client.post("/operators", data={"action": "deactivate", "code": "U17", "csrf_token": token})
    assert client.get("/api/operators/U17").get_json() == {"code": "U17", "name": "Jane", "active": False}
    refused = client.post("/operators", data={"action": "create", "code": "U17", "name": "Again", "csrf_token": token},
                          follow_redirects=True).get_data(as_text=True)
    assert "Operator U17 exists already." in refused
    assert client.post("/operators", data={"action": "create", "code": "X", "name": "Y"}).status_code == 400  # no CSRF
