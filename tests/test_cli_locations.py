"""``station location add|list|move|deactivate`` and ``station labels locations`` (SPEC 5, issue 23).

Every bad input is answered with one sentence and exit 1, never a traceback;
the labels are read back from their PNGs as the LOC:<code> a scanner sends.
"""
from __future__ import annotations

import pytest
import zxingcpp
from click.testing import CliRunner
from PIL import Image

from station.cli.main import cli
from station.domain import catalogue, locations
from station.domain.models import SerialNumber


@pytest.fixture
def station(db, tmp_path, monkeypatch):
    """The command line on the test's database, run from an empty folder."""
    monkeypatch.setenv("STATION_DATABASE_URL", db.url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, list(args))
    return run


def one_sentence(result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_add_list_move_and_deactivate(station, db):
    """Guards the commands' happy path: a site, places under it at two depths, the tree listed with units,
    a move and a deactivation (with what is under it)."""
    added = station("location", "add", "NORTH", "North shop").output
    assert added.startswith("Location NORTH (North shop) added, a site")
    assert "at site NORTH" in station("location", "add", "BACK", "Back room", "--parent", "NORTH").output
    station("location", "add", "BACK-A1", "Bin A1", "--parent", "BACK")
    station("location", "add", "SOUTH", "South shop")
    with db.Session.begin() as s:
        if locations.find(s, "MAIN") is not None:
            locations.set_active(s, locations.get(s, "MAIN"), False)
        widget = catalogue.create_product(s, "WID-1", "Widget")
        s.add(SerialNumber(serial="SN-1", product=widget, in_stock=True, location_id=locations.get(s, "BACK-A1").id))
    listed = station("location", "list")
    assert listed.exit_code == 0 and listed.output.splitlines() == [
        "NORTH\tNorth shop\t1 unit", "  BACK\tBack room\t1 unit", "    BACK-A1\tBin A1\t1 unit",
        "SOUTH\tSouth shop\t0 units"]
    station("location", "add", "FLOOR", "Floor", "--parent", "NORTH")
    assert station("location", "move", "FLOOR", "--parent", "SOUTH").output.strip() == \
        "Location FLOOR is now in SOUTH (site SOUTH)."
    assert station("location", "move", "FLOOR", "--site").output.strip() == "Location FLOOR is now a site."
    station("location", "add", "FLOOR-1", "Shelf", "--parent", "FLOOR")
    assert station("location", "deactivate", "FLOOR").output.strip() == \
        "Location FLOOR deactivated, with 1 location under it."
    assert "FLOOR" not in station("location", "list").output
    assert "  FLOOR-1\tShelf\t0 units\tdeactivated" in station("location", "list", "--all").output


@pytest.mark.parametrize("args, says", [
    pytest.param(["location", "add", "A B", "Space"], "A location's code is 1-32", id="bad_code"),
    pytest.param(["location", "add", "NORTH", "Again"], "Location NORTH exists already.", id="taken"),
    pytest.param(["location", "add", "X", "X", "--parent", "NOPE"], "There is no location NOPE", id="no_parent"),
    pytest.param(["location", "add", "X", "X", "--gln", "9520123456789"], "its last digit should be 8, not 9",
                 id="gln_check_digit"),
    pytest.param(["location", "add", "X", "X", "--gln", "12345"], "A GLN is 13 digits (the last its check digit)",
                 id="gln_length"),
    pytest.param(["location", "add", "X", "X", "--gln", "9520123456788"], "is location NORTH's already",
                 id="gln_taken"),
    pytest.param(["location", "move", "NORTH", "--parent", "BACK"], "a location cannot be inside itself",
                 id="cycle"),
    pytest.param(["location", "move", "BACK", "--site"], "holds stock", id="stock_made_a_site"),
    pytest.param(["location", "move", "BACK"], "Say where it goes", id="nowhere"),
    pytest.param(["location", "move", "BACK", "--site", "--parent", "NORTH"], "Say where it goes", id="both"),
    pytest.param(["location", "deactivate", "NORTH"], "NORTH is not empty", id="not_empty"),
    pytest.param(["location", "deactivate", "NOPE"], "There is no location NOPE", id="unknown"),
    pytest.param(["labels", "locations", "--under", "NOPE"], "There is no location NOPE", id="labels_unknown"),
])
def test_bad_input_is_one_sentence_and_exit_1(station, db, args, says):
    """Guards the command line's promise: every refusal is its one sentence, exit 1, nothing written."""
    station("location", "add", "NORTH", "North shop", "--gln", "9520123456788")
    station("location", "add", "BACK", "Back room", "--parent", "NORTH")
    with db.Session.begin() as s:
        s.add(SerialNumber(serial="SN-1", in_stock=True, location_id=locations.get(s, "BACK").id))
    assert says in one_sentence(station(*args))


def test_add_with_a_gln(station, db):
    """Guards ``station location add ... --gln GLN``: the GLN is stored as given and said back."""
    added = station("location", "add", "DOCK", "Dock", "--gln", "9520123456788")
    assert added.exit_code == 0 and added.output.startswith("Location DOCK (Dock) added, a site, GLN 9520123456788:")
    with db.Session() as s:
        assert locations.get(s, "DOCK").gln == "9520123456788"


def test_location_labels_scan_as_loc_codes_for_active_locations_under_one(station, tmp_path):
    """Guards ``station labels locations [--under CODE]``: one LOC:<code> label per active location (all, or
    a subtree), its name as the caption, every PNG read back by zxing-cpp as what a scanner sends."""
    station("location", "add", "NORTH", "North shop")
    station("location", "add", "N.A-01", "Aisle A, bin 1", "--parent", "NORTH")
    station("location", "add", "N_OLD", "Old shelf", "--parent", "NORTH")
    station("location", "deactivate", "N_OLD")
    station("location", "add", "SOUTH", "South shop")
    result = station("labels", "locations", "--under", "NORTH", "--out", str(tmp_path / "north"))
    assert result.exit_code == 0 and result.output.startswith("2 location labels; print "), result.output
    read = {r.text for png in (tmp_path / "north").glob("*.png") for r in zxingcpp.read_barcodes(Image.open(png))}
    assert read == {"LOC:NORTH", "LOC:N.A-01"}
    assert "Aisle A, bin 1" in (tmp_path / "north" / "index.html").read_text(encoding="utf-8")
    every = station("labels", "locations", "--out", str(tmp_path / "all"), "--size", "50x25")
    assert every.exit_code == 0, every.output
    read = {r.text for png in (tmp_path / "all").glob("*.png") for r in zxingcpp.read_barcodes(Image.open(png))}
    assert {"LOC:NORTH", "LOC:N.A-01", "LOC:SOUTH"} <= read and "LOC:N_OLD" not in read
