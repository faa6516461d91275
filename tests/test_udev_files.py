"""The udev rules and the systemd unit in udev/: parsed, checked key by key, and the rules run on made-up devices."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

UDEV = Path(__file__).resolve().parent.parent / "udev"
RULES = UDEV / "70-barcode-station.rules"
UNIT = UDEV / "barcode-station.service"
README = UDEV / "README.md"
KNOWN_GOOD = Path(__file__).resolve().parent / "data" / "udev"
SYSTEM_RULES = (Path("/usr/lib/udev/rules.d"), Path("/lib/udev/rules.d"))  # one folder where /lib is /usr/lib
VENDORS = {"0c2e": "Honeywell/Metrologic", "05e0": "Zebra/Symbol", "05f9": "Datalogic"}

# --- a small parser for udev's rule syntax (man 7 udev) ---------------------

MATCH_OPS = {"==", "!="}
ASSIGN_OPS = {"=", "+=", "-=", ":="}
MATCH_ONLY = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER",
              "DRIVERS", "ATTRS", "TAGS", "TEST", "RESULT", "CONST"}
ASSIGN_ONLY = {"OWNER", "GROUP", "MODE", "SECLABEL", "RUN", "LABEL", "GOTO", "IMPORT", "OPTIONS"}
EITHER = {"NAME", "SYMLINK", "ENV", "ATTR", "SYSCTL", "TAG", "PROGRAM"}
NEEDS_ATTR = {"ATTR", "ATTRS", "ENV", "SYSCTL", "CONST", "SECLABEL", "IMPORT"}
MAY_HAVE_ATTR = NEEDS_ATTR | {"TEST", "RUN"}

PAIR = re.compile(r'(?P<key>[A-Z_]+)(?:\{(?P<attr>[^{}"]*)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*'
                  r'(?P<prefix>e?)"(?P<value>[^"]*)"')
SEPARATOR = re.compile(r"\s*,\s*")

Pair = tuple[str, str, str]  # ("ATTRS{idVendor}", "==", "0c2e")


def parse_pairs(line: str) -> list[Pair]:
    """One rule line as (key, operator, value) triples; ValueError on anything udev would reject."""
    pairs, position = [], 0
    line = line.strip()
    while True:
        match = PAIR.match(line, position)
        if match is None:
            raise ValueError(f"expected KEY==\"value\" or KEY=\"value\" at {line[position:]!r}")
        key, attr, op = match["key"], match["attr"], match["op"]
        if key not in MATCH_ONLY | ASSIGN_ONLY | EITHER:
            raise ValueError(f"unknown key {key}")
        if (attr is None and key in NEEDS_ATTR) or (attr is not None and key not in MAY_HAVE_ATTR):
            raise ValueError(f"{key}{{...}} misused")
        if (key in MATCH_ONLY and op not in MATCH_OPS) or (key in ASSIGN_ONLY and op not in ASSIGN_OPS):
            raise ValueError(f"operator {op} is invalid for {key}")
        pairs.append((key if attr is None else f"{key}{{{attr}}}", op, match["value"]))
        position = match.end()
        if position == len(line):
            return pairs
        separator = SEPARATOR.match(line, position)
        if separator is None or separator.end() == position or separator.end() == len(line):
            raise ValueError(f"expected ', KEY...' at {line[position:]!r}")
        position = separator.end()


def parse_rules(text: str) -> list[list[Pair]]:
    """Every line must be blank, a comment, or (with backslash continuations) a rule."""
    rules, pending = [], ""
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        line, pending = pending + raw, ""
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        stripped = line.strip()
        try:
            rules.append(parse_pairs(stripped))
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
    if pending:
        raise ValueError("the last line ends with a backslash")
    return rules


# --- and an evaluator: what the rules do to one device -----------------------

@dataclass
class Device:
    subsystem: str
    kernel: str
    attrs: dict[str, str] = field(default_factory=dict)  # ATTRS{} of the device and its parents
    env: dict[str, str] = field(default_factory=dict)  # set by earlier rules (60-*.rules)
    action: str = "add"
    group: str | None = None
    mode: str | None = None
    symlinks: list[str] = field(default_factory=list)


SUBSTITUTION = re.compile(r"\$env\{(?P<env>[^}]+)\}|%E\{(?P<env2>[^}]+)\}|\$attr\{(?P<attr>[^}]+)\}"
                          r"|%s\{(?P<attr2>[^}]+)\}|[$%]")


def substitute(value: str, device: Device) -> str:
    def one(match: re.Match) -> str:
        if match["env"] or match["env2"]:
            return device.env.get(match["env"] or match["env2"], "")
        if match["attr"] or match["attr2"]:
            return device.attrs.get(match["attr"] or match["attr2"], "")
        raise ValueError(f"substitution not understood in {value!r}")

    return SUBSTITUTION.sub(one, value)


def matches(key: str, op: str, pattern: str, device: Device) -> bool:
    if key.startswith("ATTRS{"):
        actual = device.attrs.get(key[6:-1])
        found = actual is not None and any(fnmatchcase(actual, p) for p in pattern.split("|"))
    else:
        actual = {"ACTION": device.action, "SUBSYSTEM": device.subsystem, "KERNEL": device.kernel}.get(key)
        if key.startswith("ENV{"):
            actual = device.env.get(key[4:-1], "")
        if actual is None:
            raise ValueError(f"the evaluator does not know {key}")
        found = any(fnmatchcase(actual, p) for p in pattern.split("|"))
    return found if op == "==" else not found


def run_rules(rules: list[list[Pair]], device: Device) -> Device:
    """Apply the rules as udevd would (matches first, then assignments, GOTO to LABEL)."""
    labels = {value: index for index, rule in enumerate(rules) for key, _, value in rule if key == "LABEL"}
    index = 0
    while index < len(rules):
        rule, index = rules[index], index + 1
        if not all(matches(k, op, v, device) for k, op, v in rule if op in MATCH_OPS):
            continue
        for key, op, value in rule:
            if op in MATCH_OPS or key in ("LABEL", "IMPORT{builtin}"):
                continue  # builtins' results are given in device.env
            if key == "GOTO":
                index = labels[value]
            elif key == "GROUP":
                device.group = value
            elif key == "MODE":
                device.mode = value
            elif key == "SYMLINK" and op == "+=":
                device.symlinks += substitute(value, device).split()
            elif key.startswith("ENV{") and op == "=":
                device.env[key[4:-1]] = substitute(value, device)
            else:
                raise ValueError(f"the evaluator does not know {key}{op}")
    return device


@pytest.fixture(scope="module")
def rules() -> list[list[Pair]]:
    return parse_rules(RULES.read_text(encoding="utf-8"))


def test_rules_parse(rules):
    """Guards against a typo in the rules file: udev skips a line it cannot parse, and that scanner stays unusable."""
    assert len(rules) >= 8


@pytest.mark.parametrize(
    "line",
    [
        pytest.param('SUBSYSTEM="tty", GROUP="barcode"', id="assign_to_match_key"),
        pytest.param('GROUP=="barcode"', id="match_on_assign_key"),
        pytest.param('ATTRS{idVendor}=="0c2e" GROUP="barcode"', id="missing_comma"),
        pytest.param('ATTRS{idVendor}=="0c2e", GROUP="barcode" # Honeywell', id="trailing_comment"),
        pytest.param('KERNEL=="event*, MODE="0660"', id="unbalanced_quote"),
        pytest.param('GRUOP="barcode"', id="unknown_key"),
        pytest.param('ENV{BARCODE_STATION_SCANNER}="1",', id="trailing_comma"),
        pytest.param('ATTRS=="0c2e", GROUP="barcode"', id="attrs_without_name"),
        pytest.param('SUBSYSTEM=="tty", \\', id="continuation_at_end"),
    ],
)
def test_parser_rejects_typos(line):
    """Guards the parser itself: the mistakes udev refuses must fail this test too."""
    with pytest.raises(ValueError):
        parse_rules(line + "\n")


def rule_count(text: str) -> int:
    """How many rules ``text`` holds, counted without the parser: continued lines joined, blanks and comments out."""
    joined = re.sub(r"\\\n", "", text)
    return sum(1 for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#"))


@pytest.mark.parametrize("name", ["50-udev-default.rules", "60-persistent-input.rules", "60-serial.rules"])
def test_parser_accepts_systemds_own_rules(name):
    """Guards the parser against being stricter than udev, or dropping rules: systemd's own rules (copies in
    tests/data/udev, so this runs everywhere) parse, every rule of them."""
    text = (KNOWN_GOOD / name).read_text(encoding="utf-8")
    assert len(parse_rules(text)) == rule_count(text) > 10


def test_parser_accepts_system_rules():
    """Guards the parser against being stricter than the udev installed here: the distribution's own rules parse,
    every rule of them."""
    files = sorted({path.resolve() for folder in SYSTEM_RULES if folder.is_dir() for path in folder.glob("*.rules")})
    if not files:
        pytest.skip(f"no udev rules in {' or '.join(map(str, SYSTEM_RULES))} (the copies in {KNOWN_GOOD} are parsed)")
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert len(parse_rules(text)) == rule_count(text), path


def test_rules_name_the_vendors(rules):
    """Guards the scanner list: Honeywell, Zebra and Datalogic are each matched by USB vendor id."""
    matched = {value for rule in rules for key, op, value in rule if key == "ATTRS{idVendor}" and op == "=="}
    assert set(VENDORS) <= matched


def test_rules_group_mode_symlink_modemmanager(rules):
    """Guards permissions and names: only group barcode with 0660, links under /dev/barcode/, ModemManager kept off
    ttys."""
    assigning_group = [rule for rule in rules if any(key == "GROUP" for key, _, _ in rule)]
    assert assigning_group
    for rule in assigning_group:
        assert ("GROUP", "=", "barcode") in rule and ("MODE", "=", "0660") in rule
        if ("SUBSYSTEM", "==", "tty") in rule:
            assert ("ENV{ID_MM_DEVICE_IGNORE}", "=", "1") in rule
    assert any(("SUBSYSTEM", "==", "tty") in rule for rule in assigning_group)
    assert any(("SUBSYSTEM", "==", "input") in rule and ("KERNEL", "==", "event*") in rule for rule in assigning_group)
    links = [value for rule in rules for key, _, value in rule if key == "SYMLINK"]
    assert links and all(link.startswith("barcode/") for link in links)
    assert any(link.startswith("barcode/event-") for link in links)
    assert any(link.startswith("barcode/tty-") for link in links)


def test_rules_leave_usb_power_alone(rules):
    """Guards against autosuspend tweaks: a scanner's USB power management is the system's business."""
    for rule in rules:
        for key, _, value in rule:
            assert not re.search(r"power|autosuspend", f"{key} {value}", re.IGNORECASE)


def usb_env(vendor: str, model: str, serial: str | None, **extra: str) -> dict[str, str]:
    env = {"ID_VENDOR_ID": vendor, "ID_MODEL_ID": model, "ID_PATH_TAG": "pci-0000_00_14_0-usb-0_3_1_0", **extra}
    if serial is not None:
        env["ID_SERIAL_SHORT"] = serial
    return env


@pytest.mark.parametrize(
    ("device", "group", "links", "mm_ignore"),
    [
        pytest.param(
            Device("input", "event5", {"idVendor": "0c2e", "idProduct": "0b61"},
                   usb_env("0c2e", "0b61", "18123B1234", ID_INPUT_KEYBOARD="1")),
            "barcode", ["barcode/event-0c2e-0b61-18123B1234"], None, id="honeywell_keyboard_wedge",
        ),
        pytest.param(
            Device("input", "event6", {"idVendor": "05f9", "idProduct": "2206"},
                   usb_env("05f9", "2206", None, ID_INPUT_KEY="1")),
            "barcode", [], None, id="datalogic_consumer_control_node",
        ),
        pytest.param(
            Device("tty", "ttyACM0", {"idVendor": "05e0", "idProduct": "1701"}, usb_env("05e0", "1701", None)),
            "barcode", ["barcode/tty-05e0-1701-path-pci-0000_00_14_0-usb-0_3_1_0"], "1", id="zebra_cdc_no_serial",
        ),
        pytest.param(
            Device("tty", "ttyUSB0", {"idVendor": "05f9", "idProduct": "4204"}, usb_env("05f9", "4204", "S123")),
            "barcode", ["barcode/tty-05f9-4204-S123"], "1", id="datalogic_serial",
        ),
        pytest.param(
            Device("input", "event3", {"idVendor": "046d", "idProduct": "c31c"},
                   usb_env("046d", "c31c", None, ID_INPUT_KEYBOARD="1")),
            None, [], None, id="real_keyboard_untouched",
        ),
        pytest.param(
            Device("hidraw", "hidraw0", {"idVendor": "0c2e", "idProduct": "0b61"}, usb_env("0c2e", "0b61", "1")),
            None, [], None, id="other_subsystem_untouched",
        ),
        pytest.param(
            Device("tty", "ttyACM0", {"idVendor": "05e0"}, usb_env("05e0", "1701", "1"), action="remove"),
            None, [], None, id="remove_event",
        ),
        pytest.param(Device("tty", "ttyS0"), None, [], None, id="builtin_serial_port_untouched"),
    ],
)
def test_rules_on_devices(rules, device, group, links, mm_ignore):
    """Guards the rules' logic (GOTOs, vendor marks, link names): what each kind of device actually gets."""
    result = run_rules(rules, device)
    assert (result.group, result.symlinks, result.env.get("ID_MM_DEVICE_IGNORE")) == (group, links, mm_ignore)
    assert result.mode == ("0660" if group else None)


def test_udevadm_verify():
    """Guards against syntax only udev itself knows about (udevadm verify, systemd 254 and later)."""
    udevadm = shutil.which("udevadm")
    if udevadm is None or subprocess.run([udevadm, "verify", "--help"], capture_output=True).returncode != 0:
        pytest.skip("udevadm verify is not available")
    result = subprocess.run([udevadm, "verify", "--resolve-names=never", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- the systemd unit --------------------------------------------------------

def is_true(value: str) -> bool:
    return value.lower() in {"yes", "true", "on", "1"}


@pytest.fixture(scope="module")
def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_unit_runs_the_daemon(unit):
    """Guards what the service runs and how: the venv's `station run`, config, working dir, restart and stop."""
    service = unit["Service"]
    assert unit["Unit"]["Description"]
    assert service["ExecStart"] == "/opt/barcode-station/.venv/bin/station run"
    assert "STATION_CONFIG=/etc/barcode-station/station.toml" in shlex.split(service["Environment"])
    assert service["WorkingDirectory"] == "/var/lib/barcode-station"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM" and service["TimeoutStopSec"] == "5"
    assert service.get("StandardError", "journal") == "journal"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_unit_is_hardened(unit):
    """Guards the sandbox: a dedicated user, no privilege gain, read-only system except its state directory."""
    service = unit["Service"]
    assert service["User"] == "barcode-station"
    assert "barcode" in service["SupplementaryGroups"].split()
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert is_true(service[key]), key
    assert service["ProtectSystem"] == "strict"
    assert service["StateDirectory"] == "barcode-station"
    writable = ["/var/lib/" + name for name in service["StateDirectory"].split()]
    writable += service.get("ReadWritePaths", "").split()
    assert service["WorkingDirectory"] in writable


def test_unit_keeps_devices_reachable(unit):
    """Guards scanner access: options that close /dev/input or serial ports behind the service's back stay off."""
    service = unit["Service"]
    assert not is_true(service.get("PrivateDevices", "no"))
    for key in ("DeviceAllow", "DevicePolicy", "ProtectClock"):
        assert key not in service, f"{key} restricts device access"
    families = service.get("RestrictAddressFamilies", "AF_NETLINK AF_UNIX AF_INET AF_INET6").split()
    assert {"AF_NETLINK", "AF_UNIX", "AF_INET", "AF_INET6"} <= set(families)


def test_systemd_analyze_verify(tmp_path):
    """Guards against unit syntax only systemd knows about; a missing /opt install is the one complaint allowed."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not available")
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text(encoding="utf-8"), encoding="utf-8")
    result = subprocess.run([analyze, "verify", "--man=no", str(copy)], capture_output=True, text=True)
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if line.strip() and "is not executable" not in line]
    assert complaints == []


def test_readme_install_section_matches_files(unit):
    """Guards the install instructions against drifting from the files they install."""
    text = README.read_text(encoding="utf-8")
    assert "\n## Install as a service\n" in text
    section = text.split("\n## Install as a service\n", 1)[1]
    for command in (
        "groupadd --system barcode",
        "useradd --system",
        f"install -m 0644 udev/{RULES.name} /etc/udev/rules.d/",
        "udevadm control --reload && sudo udevadm trigger",
        "/opt/barcode-station",
        "make install",
        "/etc/barcode-station/station.toml",
        f"install -m 0644 udev/{UNIT.name} /etc/systemd/system/",
        "systemctl daemon-reload && sudo systemctl enable --now barcode-station",
        "journalctl -u barcode-station -f",
    ):
        assert command in section, command
    assert unit["Service"]["User"] in section
