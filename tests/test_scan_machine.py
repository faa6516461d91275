"""The station's state machine on its own: every (phase, kind) pair, with hand-built states and readings.

``CASES`` holds at least one case per (phase, kind) pair; the meta-tests below
fail when a phase or a kind is added without a case for each of its pairs
(after Datasette's ``test_plugin_hooks_have_tests``), and walk every pair with
every hand-built state and reading: a Decision, or a refusal with a documented
code. The Hypothesis test feeds arbitrary states and readings to ``decide``.

State is frozen, so ``decide`` cannot change the state it is given; that a
refused scan leaves the station as it was is the service's promise, checked on
the stored state in test_scan_properties.py.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.domain.errors import Refusal
from station.scan_core import decisions
from station.scan_core.decisions import Phase, State
from station.scan_core.machine import decide
from station.scan_core.reading import Kind, LocationInfo, ProductInfo, Reading

WIDGET = ProductInfo("WID-1", "Widget X", True, True)
GADGET = ProductInfo("GAD-1", "Gadget", True, True)
LOOSE = ProductInfo("LOOSE", "Loose", False, False)

README = Path(__file__).resolve().parent.parent / "README.md"

# States, one or more per phase.
IDLE_RECEIVE = State("receive")
IDLE_SELL = State("sell")
IDLE_RETURN = State("return")
OPEN_SALE = State("sell", "sale", "open", lines=1)
OPEN_SALE_EMPTY = State("sell", "sale", "open")
OPEN_RECEIPT_EMPTY = State("receive", "receipt", "open")
OPEN_RETURN_EMPTY = State("return", "customer_return", "open")
OPEN_SALE_ATTACH = State("sell", "sale", "open", lines=1, product=LOOSE, attach=True)
AWAIT_RECEIPT = State("receive", "receipt", "awaiting_serial", product=WIDGET)
AWAIT_SALE_WITH_LINES = State("sell", "sale", "awaiting_serial", lines=2, product=WIDGET)
STICKY = State("receive", "receipt", "sticky", lines=3, product=WIDGET)
STICKY_ATTACH = State("receive", "receipt", "sticky", lines=1, product=LOOSE, attach=True)
# The service desk (SPEC 3b).
IDLE_SERVICE = State("service")
CHECK_IN = State("service", "service_check_in", "open", lines=2)
CHECK_IN_EMPTY = State("service", "service_check_in", "open")  # CUS: scanned, no unit yet
CHECK_OUT = State("service", "service_check_out", "open", lines=1)
CHECK_OUT_EMPTY = State("service", "service_check_out", "open")  # its only unit undone
REPLACING = State("service", "service_check_out", "replacing", lines=1)
# Moving and counting (SPEC 3c).
IDLE_MOVE = State("move")
MOVE = State("move", "move", "open", lines=2)
MOVE_EMPTY = State("move", "move", "open")
TRANSFER = State("move", "transfer", "open", lines=1)
TRANSFER_EMPTY = State("move", "transfer", "open")
ARRIVAL = State("receive", "arrival", "open", lines=1)
IDLE_COUNT = State("count")
COUNT = State("count", "count", "open", lines=5)
STATES = [IDLE_MOVE, MOVE, MOVE_EMPTY, TRANSFER, TRANSFER_EMPTY, IDLE_COUNT, COUNT,
          IDLE_RECEIVE, IDLE_SELL, IDLE_RETURN, OPEN_SALE, OPEN_SALE_EMPTY, OPEN_RECEIPT_EMPTY, OPEN_RETURN_EMPTY,
          OPEN_SALE_ATTACH, AWAIT_RECEIPT, AWAIT_SALE_WITH_LINES, STICKY, STICKY_ATTACH, IDLE_SERVICE, CHECK_IN,
          CHECK_IN_EMPTY, CHECK_OUT, CHECK_OUT_EMPTY, REPLACING]

# Readings, one or more per kind.
R = {
    "sell": Reading(Kind.mode, "CMD:SELL", mode="sell"),
    "receive": Reading(Kind.mode, "CMD:RECEIVE", mode="receive"),
    "finish": Reading(Kind.finish, "CMD:FINISH"),
    "cancel": Reading(Kind.cancel, "CMD:CANCEL"),
    "undo": Reading(Kind.undo, "CMD:UNDO"),
    "print": Reading(Kind.print_, "CMD:PRINT"),
    "sup": Reading(Kind.supplier, "SUP:ACME", code="ACME"),
    "sup?": Reading(Kind.supplier, "SUP:NOPE", code="NOPE", found=False),
    "cus": Reading(Kind.customer, "CUS:BOB", code="BOB"),
    "cus?": Reading(Kind.customer, "CUS:NOPE", code="NOPE", found=False),
    "po": Reading(Kind.order, "PO-1", code="PO-1"),
    "po?": Reading(Kind.order, "PO-9", code="PO-9", found=False),
    "gs1+serial": Reading(Kind.gs1, "0109501101020917\x1d21SN-7", code="09501101020917", product=WIDGET,
                          serial="SN-7", batch="B1", expiry="261231"),
    "gs1": Reading(Kind.gs1, "0109501101020917", code="09501101020917", product=WIDGET),
    "gs1?": Reading(Kind.gs1, "0105901234123457", code="05901234123457", found=False),
    "widget": Reading(Kind.product, "09501101020917", product=WIDGET),
    "gadget": Reading(Kind.product, "4006381333931", product=GADGET),
    "loose": Reading(Kind.product, "5901234123457", product=LOOSE),
    "known": Reading(Kind.known_serial, "SN-1", serial="SN-1", product=WIDGET),
    "known-bare": Reading(Kind.known_serial, "HM-1", serial="HM-1"),
    "new": Reading(Kind.unknown, "SN-99", serial="SN-99"),
    "usr": Reading(Kind.operator, "USR:U17", code="U17"),
    "usr?": Reading(Kind.operator, "USR:NOBODY", code="NOBODY", found=False),
    "usr-empty": Reading(Kind.operator, "USR:", code="", found=False),
    "logout": Reading(Kind.logout, "CMD:LOGOUT"),
    "service": Reading(Kind.mode, "CMD:SERVICE", mode="service"),
    "replace": Reading(Kind.replace, "CMD:REPLACE"),
    "loc": Reading(Kind.location, "LOC:A-03", code="A-03",
                   location=LocationInfo(3, "A-03", "Aisle A, bin 3", 1, "MAIN", "Main site", here=True)),
    "loc-north": Reading(Kind.location, "LOC:NORTH", code="NORTH",
                         location=LocationInfo(9, "NORTH", "North shop", 9, "NORTH", "North shop", here=False)),
    "loc?": Reading(Kind.location, "LOC:NOPE", code="NOPE", found=False),
    "move": Reading(Kind.mode, "CMD:MOVE", mode="move"),
    "t": Reading(Kind.transfer, "T-000001", code="T-000001"),
    "t?": Reading(Kind.transfer, "T-000009", code="T-000009", found=False),
    "count": Reading(Kind.mode, "CMD:COUNT", mode="count"),
    "in-service": Reading(Kind.known_serial, "SN-5", serial="SN-5", product=WIDGET, in_service=True),
    "gs1+serial-in-service": Reading(Kind.gs1, "0109501101020917\x1d21SN-5", code="09501101020917", product=WIDGET,
                                     serial="SN-5", in_service=True),
}


@dataclass(frozen=True)
class Expect:
    """What a case expects: an outcome with its action types and next phase, or a refusal code."""

    outcome: str | None = None
    actions: tuple[type, ...] = ()
    phase: Phase | None = None
    refused: str | None = None


def ok(outcome: str, phase: Phase, *actions: type) -> Expect:
    return Expect(outcome=outcome, actions=actions, phase=phase)


def no(code: str) -> Expect:
    return Expect(refused=code)


def case(state: State, reading: str, expect: Expect, variant: str = ""):
    r = R[reading]
    name = f"{state.phase.value}-{r.kind.value}" + (f"-{variant}" if variant else "")
    return pytest.param(state, r, expect, id=name)


P = Phase
A = decisions  # the actions a decision asks for, by the module that defines them: A.AddLine, A.Post...
CASES = [
    # -- idle --------------------------------------------------------------------------------
    case(IDLE_SELL, "receive", ok("mode_set", P.idle, A.SetMode)),
    case(IDLE_SELL, "sell", ok("mode_kept", P.idle), "same_mode"),
    case(IDLE_SELL, "finish", no("no_open_document")),
    case(IDLE_SELL, "cancel", no("no_open_document")),
    case(IDLE_SELL, "undo", no("nothing_to_undo")),
    case(IDLE_RECEIVE, "sup", ok("document_opened", P.open, A.OpenDocument), "receipt"),
    case(IDLE_RETURN, "sup", ok("document_opened", P.open, A.OpenDocument), "supplier_return"),
    case(IDLE_SELL, "sup", no("wrong_mode"), "at_till"),
    case(IDLE_RECEIVE, "sup?", no("unknown_party"), "unknown"),
    case(IDLE_SELL, "cus", ok("document_opened", P.open, A.OpenDocument), "sale"),
    case(IDLE_RETURN, "cus", ok("document_opened", P.open, A.OpenDocument), "customer_return"),
    case(IDLE_RECEIVE, "cus", no("wrong_mode"), "at_goods_in"),
    case(IDLE_SELL, "cus?", no("unknown_party"), "unknown"),
    case(IDLE_RECEIVE, "po", ok("document_opened", P.open, A.OpenDocument)),
    case(IDLE_SELL, "po", ok("document_opened", P.open, A.SetMode, A.OpenDocument), "switches_to_receive"),
    case(IDLE_RECEIVE, "po?", no("unknown_document"), "unknown"),
    case(IDLE_RECEIVE, "gs1+serial", no("no_open_document"), "goods_in_without_supplier"),
    case(IDLE_SELL, "gs1+serial", ok("line_added", P.open, A.OpenDocument, A.AddLine), "walk_in_sale"),
    case(IDLE_SELL, "gs1?", no("unknown_barcode"), "unknown_gtin"),
    case(IDLE_SELL, "widget", ok("product_chosen", P.awaiting_serial, A.OpenDocument, A.ChooseProduct), "walk_in_sale"),
    case(IDLE_SELL, "loose", ok("line_added", P.open, A.OpenDocument, A.AddLine), "unserialised_unit"),
    case(IDLE_RECEIVE, "widget", no("no_open_document"), "goods_in_without_supplier"),
    case(IDLE_SELL, "known", ok("line_added", P.open, A.OpenDocument, A.AddLine), "sale_by_serial_alone"),
    case(IDLE_RETURN, "known", ok("line_added", P.open, A.OpenDocument, A.AddLine), "return_opened_by_serial"),
    case(IDLE_RECEIVE, "known", no("no_open_document"), "goods_in_without_supplier"),
    case(IDLE_SELL, "new", no("unknown_barcode")),
    case(IDLE_SELL, "replace", no("wrong_mode"), "not_at_the_desk"),
    case(IDLE_SELL, "service", ok("mode_set", P.idle, A.SetMode), "to_the_service_desk"),
    case(IDLE_SERVICE, "known", ok("line_added", P.open, A.OpenDocument, A.AddLine), "opens_a_check_in"),
    case(IDLE_SERVICE, "in-service", ok("line_added", P.open, A.OpenDocument, A.AddLine), "opens_a_check_out"),
    case(IDLE_SERVICE, "gs1+serial-in-service", ok("line_added", P.open, A.OpenDocument, A.AddLine), "desk_check_out"),
    case(IDLE_SERVICE, "widget", no("serial_required"), "desk_takes_serials"),
    case(IDLE_SERVICE, "gs1", no("serial_required"), "desk_takes_serials"),
    case(IDLE_SERVICE, "new", no("unknown_barcode"), "desk"),
    case(IDLE_SERVICE, "cus", ok("document_opened", P.open, A.OpenDocument), "check_in_for_a_customer"),
    case(IDLE_SERVICE, "sup", no("wrong_mode"), "desk"),
    case(IDLE_SERVICE, "replace", no("no_open_document"), "desk"),
    case(IDLE_RECEIVE, "print", ok("label_queued", P.idle, A.PrintLastSerial)),
    # -- open --------------------------------------------------------------------------------
    case(OPEN_SALE, "receive", no("document_open"), "with_lines"),
    case(OPEN_SALE_EMPTY, "receive", ok("mode_set", P.idle, A.Cancel, A.SetMode), "empty_dropped"),
    case(OPEN_SALE, "finish", ok("posted", P.idle, A.Post)),
    case(OPEN_SALE_EMPTY, "finish", no("empty_document"), "empty"),
    case(OPEN_SALE, "cancel", ok("cancelled", P.idle, A.Cancel)),
    case(OPEN_SALE, "undo", ok("undone", P.open, A.Undo)),
    case(OPEN_SALE_EMPTY, "undo", no("nothing_to_undo"), "empty"),
    case(OPEN_RECEIPT_EMPTY, "sup", ok("document_opened", P.open, A.Cancel, A.OpenDocument), "empty_replaced"),
    case(OPEN_RETURN_EMPTY, "sup", ok("document_opened", P.open, A.Cancel, A.OpenDocument), "becomes_supplier_return"),
    case(OPEN_SALE, "sup", no("document_open"), "with_lines"),
    case(OPEN_SALE, "cus", no("document_open"), "with_lines"),
    case(OPEN_SALE_EMPTY, "cus", ok("document_opened", P.open, A.Cancel, A.OpenDocument), "walk_in_replaced"),
    case(OPEN_SALE, "po", no("document_open"), "with_lines"),
    case(OPEN_RECEIPT_EMPTY, "po", ok("document_opened", P.open, A.Cancel, A.OpenDocument), "empty_replaced"),
    case(OPEN_SALE, "gs1+serial", ok("line_added", P.open, A.AddLine)),
    case(OPEN_RECEIPT_EMPTY, "gs1", ok("product_chosen", P.awaiting_serial, A.ChooseProduct), "no_serial_in_scan"),
    case(OPEN_SALE, "widget", ok("product_chosen", P.awaiting_serial, A.ChooseProduct)),
    case(OPEN_SALE, "known", ok("line_added", P.open, A.AddLine)),
    case(OPEN_SALE, "new", no("unknown_barcode"), "no_product_waits"),
    case(OPEN_SALE_ATTACH, "new", ok("serial_attached", P.open, A.AttachSerial), "recorded_on_unserialised_unit"),
    case(OPEN_SALE, "replace", no("wrong_mode"), "sale"),
    case(CHECK_IN, "known", ok("line_added", P.open, A.AddLine), "next_unit_in"),
    case(CHECK_IN, "in-service", no("document_open"), "check_out_never_joins_a_check_in"),
    case(CHECK_IN_EMPTY, "in-service", ok("line_added", P.open, A.SwitchDocument, A.AddLine),
         "empty_check_in_gives_way"),
    case(CHECK_OUT, "known", no("document_open"), "check_in_never_joins_a_check_out"),
    case(CHECK_OUT, "in-service", ok("line_added", P.open, A.AddLine), "next_unit_out"),
    case(CHECK_OUT, "widget", no("serial_required"), "desk_takes_serials"),
    case(CHECK_IN, "new", no("unknown_barcode"), "desk"),
    case(CHECK_OUT, "replace", ok("replace_armed", P.replacing, A.ArmReplacement), "armed"),
    case(CHECK_OUT_EMPTY, "replace", no("nothing_to_replace"), "nothing_checked_out"),
    case(CHECK_IN, "replace", no("nothing_to_replace"), "on_a_check_in"),
    case(CHECK_IN, "finish", ok("posted", P.idle, A.Post), "check_in"),
    case(CHECK_IN, "cus", no("document_open"), "check_in_with_lines"),
    case(CHECK_OUT_EMPTY, "cus", ok("document_opened", P.open, A.Cancel, A.OpenDocument), "empty_check_out_replaced"),
    case(CHECK_OUT, "undo", ok("undone", P.open, A.Undo), "check_out"),
    case(OPEN_SALE, "print", ok("label_queued", P.open, A.PrintLastSerial)),
    # -- awaiting_serial ---------------------------------------------------------------------
    case(AWAIT_RECEIPT, "sell", ok("mode_set", P.idle, A.Cancel, A.SetMode), "empty_dropped"),
    case(AWAIT_SALE_WITH_LINES, "receive", no("document_open"), "with_lines"),
    case(AWAIT_RECEIPT, "finish", no("serial_required")),
    case(AWAIT_SALE_WITH_LINES, "finish", no("serial_required"), "with_lines"),
    case(AWAIT_RECEIPT, "cancel", ok("cancelled", P.idle, A.Cancel)),
    case(AWAIT_RECEIPT, "undo", ok("product_dropped", P.open)),
    case(AWAIT_RECEIPT, "sup", ok("document_opened", P.open, A.Cancel, A.OpenDocument), "empty_replaced"),
    case(AWAIT_SALE_WITH_LINES, "sup", no("document_open"), "with_lines"),
    case(AWAIT_RECEIPT, "cus", no("wrong_mode")),
    case(AWAIT_SALE_WITH_LINES, "cus", no("document_open"), "with_lines"),
    case(AWAIT_RECEIPT, "po", ok("document_opened", P.open, A.Cancel, A.OpenDocument)),
    case(AWAIT_RECEIPT, "gs1+serial", ok("line_added", P.sticky, A.AddLine)),
    case(AWAIT_RECEIPT, "gadget", ok("product_chosen", P.awaiting_serial, A.ChooseProduct), "another_product"),
    case(AWAIT_RECEIPT, "known", ok("line_added", P.sticky, A.AddLine)),
    case(AWAIT_SALE_WITH_LINES, "known", ok("line_added", P.open, A.AddLine), "sale"),
    case(AWAIT_RECEIPT, "new", ok("line_added", P.sticky, A.AddLine), "first_serial_of_box"),
    case(AWAIT_RECEIPT, "replace", no("wrong_mode")),
    case(AWAIT_RECEIPT, "print", ok("label_queued", P.awaiting_serial, A.PrintLastSerial), "product_still_waits"),
    # -- sticky ------------------------------------------------------------------------------
    case(STICKY, "sell", no("document_open")),
    case(STICKY, "finish", ok("posted", P.idle, A.Post)),
    case(STICKY, "cancel", ok("cancelled", P.idle, A.Cancel)),
    case(STICKY, "undo", ok("undone", P.sticky, A.Undo)),
    case(STICKY, "sup", no("document_open")),
    case(STICKY, "cus", no("document_open")),
    case(STICKY, "po", no("document_open")),
    case(STICKY, "gs1+serial", ok("line_added", P.sticky, A.AddLine)),
    case(STICKY, "gadget", ok("product_chosen", P.awaiting_serial, A.ChooseProduct), "another_product"),
    case(STICKY, "widget", ok("product_chosen", P.sticky), "same_product_again_stays_sticky"),
    case(STICKY_ATTACH, "loose", ok("line_added", P.sticky, A.AddLine), "next_unserialised_unit"),
    case(STICKY, "known", ok("line_added", P.sticky, A.AddLine)),
    case(STICKY, "new", ok("line_added", P.sticky, A.AddLine), "next_serial_of_box"),
    case(STICKY_ATTACH, "new", ok("serial_attached", P.sticky, A.AttachSerial), "recorded_on_unserialised_unit"),
    # -- operators: a badge or CMD:LOGOUT changes who scans, in any phase, never the document -----------------
    case(IDLE_SELL, "usr", ok("signed_in", P.idle, A.SignIn)),
    case(IDLE_SELL, "usr?", no("unknown_operator"), "unknown_or_deactivated"),
    case(IDLE_RECEIVE, "usr-empty", no("unknown_operator"), "empty_code"),
    case(IDLE_SELL, "logout", ok("signed_out", P.idle, A.SignOut)),
    case(OPEN_SALE, "usr", ok("signed_in", P.open, A.SignIn), "mid_document"),
    case(OPEN_SALE, "usr?", no("unknown_operator"), "unknown"),
    case(OPEN_SALE, "logout", ok("signed_out", P.open, A.SignOut), "mid_document"),
    case(AWAIT_RECEIPT, "usr", ok("signed_in", P.awaiting_serial, A.SignIn), "product_still_waits"),
    case(AWAIT_RECEIPT, "usr?", no("unknown_operator"), "unknown"),
    case(AWAIT_RECEIPT, "logout", ok("signed_out", P.awaiting_serial, A.SignOut), "product_still_waits"),
    case(STICKY, "usr", ok("signed_in", P.sticky, A.SignIn), "box_goes_on"),
    case(STICKY, "usr?", no("unknown_operator"), "unknown"),
    case(STICKY, "logout", ok("signed_out", P.sticky, A.SignOut), "box_goes_on"),
    case(STICKY, "replace", no("wrong_mode")),
    # -- replacing: armed until a serial is accepted or another command is scanned -------------
    case(REPLACING, "service", no("document_open")),
    case(REPLACING, "finish", ok("posted", P.idle, A.Post)),
    case(REPLACING, "cancel", ok("cancelled", P.idle, A.Cancel)),
    case(REPLACING, "undo", ok("replace_dropped", P.open), "no_replacement_after_all"),
    case(REPLACING, "replace", ok("replace_armed", P.replacing), "armed_already"),
    case(REPLACING, "sup", no("document_open")),
    case(REPLACING, "cus", no("document_open")),
    case(REPLACING, "po", no("document_open")),
    case(REPLACING, "gs1+serial", ok("line_added", P.open, A.AddReplacement), "replacement_by_gs1"),
    case(REPLACING, "gs1", no("serial_required"), "no_serial_in_scan_stays_armed"),
    case(REPLACING, "widget", no("serial_required"), "product_barcode_stays_armed"),
    case(REPLACING, "known", ok("line_added", P.open, A.AddReplacement), "replacement"),
    case(REPLACING, "new", no("unknown_barcode"), "stays_armed"),
    case(REPLACING, "usr", ok("signed_in", P.replacing, A.SignIn), "still_armed_for_the_next_operator"),
    case(REPLACING, "usr?", no("unknown_operator"), "unknown"),
    case(REPLACING, "logout", ok("signed_out", P.replacing, A.SignOut), "still_armed"),
    case(REPLACING, "print", ok("label_queued", P.replacing, A.PrintLastSerial), "still_armed"),
    case(STICKY, "print", ok("label_queued", P.sticky, A.PrintLastSerial), "box_stays_sticky"),
    # -- LOC: in every mode (SPEC 3c) ------------------------------------------------------------
    case(IDLE_RECEIVE, "loc", no("no_open_document"), "put_away_needs_a_receipt"),
    case(IDLE_RECEIVE, "loc?", no("unknown_location"), "unknown"),
    case(OPEN_RECEIPT_EMPTY, "loc", ok("location_set", P.open, A.SetLocation), "put_away"),
    case(OPEN_RECEIPT_EMPTY, "loc-north", no("location_at_other_site"), "put_away_elsewhere"),
    case(STICKY, "loc", ok("location_set", P.sticky, A.SetLocation), "put_away_keeps_the_product"),
    case(AWAIT_RECEIPT, "loc", ok("location_set", P.awaiting_serial, A.SetLocation), "put_away"),
    case(AWAIT_RECEIPT, "loc?", no("unknown_location"), "unknown"),
    case(OPEN_SALE, "loc", no("wrong_mode"), "a_till_takes_no_location"),
    case(IDLE_SELL, "loc?", no("unknown_location"), "unknown_first"),
    case(REPLACING, "loc", no("wrong_mode")),
    case(IDLE_SERVICE, "move", ok("mode_set", P.idle, A.SetMode), "to_moving"),
    case(CHECK_IN_EMPTY, "count", ok("mode_set", P.idle, A.Cancel, A.SetMode), "to_counting"),
    # -- moving: LOC: first, then the units; another site's location makes a transfer ------------
    case(IDLE_MOVE, "loc", ok("document_opened", P.open, A.OpenDocument), "opens_a_move"),
    case(IDLE_MOVE, "loc-north", ok("document_opened", P.open, A.OpenDocument), "opens_a_transfer"),
    case(IDLE_MOVE, "loc?", no("unknown_location"), "move"),
    case(IDLE_MOVE, "known", no("no_location"), "move"),
    case(IDLE_MOVE, "loose", no("no_location"), "move"),
    case(IDLE_MOVE, "gs1+serial", no("no_location"), "move"),
    case(IDLE_MOVE, "new", no("unknown_barcode"), "move"),
    case(IDLE_MOVE, "sup", no("wrong_mode"), "move"),
    case(MOVE, "loc", ok("location_set", P.open, A.SetLocation), "new_destination"),
    case(MOVE, "loc-north", no("document_open"), "move_with_lines_is_never_a_transfer"),
    case(MOVE_EMPTY, "loc-north", ok("document_opened", P.open, A.Cancel, A.OpenDocument),
         "empty_move_becomes_transfer"),
    case(TRANSFER, "loc", no("document_open"), "transfer_with_lines_is_never_a_move"),
    case(TRANSFER_EMPTY, "loc", ok("document_opened", P.open, A.Cancel, A.OpenDocument),
         "empty_transfer_becomes_move"),
    case(TRANSFER, "loc-north", ok("location_set", P.open, A.SetLocation), "transfer_destination"),
    case(MOVE, "known", ok("line_added", P.open, A.AddLine), "move"),
    case(MOVE, "loose", ok("line_added", P.open, A.AddLine), "move_a_unit"),
    case(MOVE, "gs1+serial", ok("line_added", P.open, A.AddLine), "move"),
    case(MOVE, "gs1", ok("line_added", P.open, A.AddLine), "move_a_unit"),
    case(MOVE, "new", no("unknown_barcode"), "move"),
    case(MOVE, "finish", ok("posted", P.idle, A.Post), "move"),
    case(MOVE, "undo", ok("undone", P.open, A.Undo), "move"),
    # -- arrivals: a transfer's reference, then its units -------------------------------------------
    case(IDLE_RECEIVE, "t", ok("document_opened", P.open, A.OpenDocument), "opens_its_arrival"),
    case(IDLE_SELL, "t", ok("document_opened", P.open, A.SetMode, A.OpenDocument), "switches_to_receiving"),
    case(IDLE_RECEIVE, "t?", no("unknown_document"), "not_sent"),
    case(OPEN_RECEIPT_EMPTY, "t", ok("document_opened", P.open, A.Cancel, A.OpenDocument), "empty_receipt_gives_way"),
    case(STICKY, "t", no("document_open"), "arrival"),
    case(AWAIT_RECEIPT, "t", ok("document_opened", P.open, A.Cancel, A.OpenDocument), "arrival"),
    case(REPLACING, "t", no("document_open"), "arrival"),
    case(ARRIVAL, "known", ok("line_added", P.open, A.AddLine), "arrived"),
    case(ARRIVAL, "gs1+serial", ok("line_added", P.open, A.AddLine), "arrived"),
    case(ARRIVAL, "loose", ok("line_added", P.open, A.AddLine), "arrived_unit"),
    case(ARRIVAL, "new", no("unknown_barcode"), "arrival"),
    case(ARRIVAL, "loc", ok("location_set", P.open, A.SetLocation), "arrival_put_away"),
    # -- counting ---------------------------------------------------------------------------------
    case(IDLE_COUNT, "loc", ok("document_opened", P.open, A.OpenDocument), "opens_a_count"),
    case(IDLE_COUNT, "loc-north", no("location_at_other_site"), "count"),
    case(IDLE_COUNT, "known", no("no_location"), "count"),
    case(COUNT, "loc", ok("location_set", P.open, A.SetLocation), "found_there"),
    case(COUNT, "known", ok("line_added", P.open, A.AddLine), "count"),
    case(COUNT, "loose", ok("line_added", P.open, A.AddLine), "count_a_unit"),
    case(COUNT, "cus", no("document_open"), "count"),
    case(COUNT, "move", no("document_open"), "count"),
]

#: (phase, kind) pairs that have a case: filled from CASES as the parametrised test is collected.
COVERED: set[tuple[Phase, Kind]] = {(p.values[0].phase, p.values[1].kind) for p in CASES}


@pytest.mark.parametrize("state, reading, expect", CASES)
def test_transition(state: State, reading: Reading, expect: Expect):
    """Guards each (phase, kind) pair: the right actions and next phase, or the right refusal."""
    if expect.refused is not None:
        with pytest.raises(Refusal) as exc:
            decide(state, reading)
        assert exc.value.code == expect.refused
        assert exc.value.message.strip()
        return
    decision = decide(state, reading)
    assert decision.outcome == expect.outcome
    assert tuple(type(a) for a in decision.actions) == expect.actions
    assert decision.state.phase is expect.phase
    assert decision.reading is reading


def test_every_phase_and_kind_pair_has_a_case():
    """Guards against a phase or a kind added to the machine without a test for each of its pairs."""
    every = set(itertools.product(Phase, Kind))
    missing = sorted(f"{p.value}-{k.value}" for p, k in every - COVERED)
    assert not missing, f"no test case for: {', '.join(missing)}"


def documented_refusal_codes() -> set[str]:
    """The codes README's "Refusal codes" paragraph lists (SPEC 4's stable codes and the ones added beside them)."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"^Refusal codes:(.*?)\n\n", text, re.MULTILINE | re.DOTALL)
    assert found, "README has no 'Refusal codes:' paragraph"
    return {code for code in re.findall(r"`([^`]+)`", found[1]) if re.fullmatch(r"[a-z_]+", code)}


REFUSAL_CODES = documented_refusal_codes()


@pytest.mark.parametrize("phase, kind", list(itertools.product(Phase, Kind)),
                         ids=lambda value: value.value)
def test_every_pair_answers_a_decision_or_a_documented_refusal(phase: Phase, kind: Kind):
    """Guards the table against holes and stray answers: for every hand-built state of the phase and every
    reading of the kind, ``decide`` answers a well-formed Decision or raises a Refusal whose code is a
    documented one (README, after SPEC 4), never a KeyError, another exception or an unknown code."""
    states = [state for state in STATES if state.phase is phase]
    readings = [reading for reading in R.values() if reading.kind is kind]
    assert states, f"no hand-built state in phase {phase.value}: add one to STATES"
    assert readings, f"no reading of kind {kind.value}: add one to R"
    for state, reading in itertools.product(states, readings):
        try:
            decision = decide(state, reading)
        except Refusal as refusal:
            assert refusal.code in REFUSAL_CODES, (state, reading.text, refusal)
            assert refusal.message.strip(), (state, reading.text, refusal)
            continue
        assert isinstance(decision, decisions.Decision), (state, reading.text, decision)
        assert isinstance(decision.state, State) and decision.reading is reading
        assert decision.outcome and isinstance(decision.outcome, str)
        assert all(isinstance(action, decisions.Action) for action in decision.actions), decision.actions


@pytest.mark.parametrize("value", [
    pytest.param(IDLE_SELL, id="state"),
    pytest.param(WIDGET, id="product_info"),
    pytest.param(R["gs1+serial"], id="reading"),
    pytest.param(decide(IDLE_SELL, R["known"]), id="decision"),
    *(pytest.param(action, id=type(action).__name__) for action in decide(IDLE_SELL, R["known"]).actions),
])
def test_what_decide_takes_and_gives_cannot_be_changed(value):
    """Guards the machine's promise that a refusal leaves the state as it was: it holds because a State (and
    what it holds, and what a Decision carries) cannot be changed in place, so no handler can half-apply one."""
    name = next((field.name for field in dataclasses.fields(value)), "anything")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, name, getattr(value, name, None))


def test_case_ids_are_unique():
    """Guards against two cases sharing an id, which would hide one of them in reports."""
    ids = [p.id for p in CASES]
    assert len(ids) == len(set(ids))


def test_sticky_product_survives_a_box_of_fifty():
    """Guards the 51-scan box: one product scan, then fifty serials, each a line, the product still chosen."""
    state = State("receive", "receipt", "open")
    state = decide(state, R["widget"]).state
    for n in range(50):
        d = decide(state, Reading(Kind.unknown, f"BOX-{n}", serial=f"BOX-{n}"))
        assert [type(a) for a in d.actions] == [A.AddLine]
        assert d.actions[0] == A.AddLine("WID-1", f"BOX-{n}")
        state = d.state
    assert state.lines == 50 and state.product == WIDGET and state.phase is Phase.sticky


@pytest.mark.parametrize("state", STATES, ids=lambda state: f"{state.phase.value}-{state.mode.value}-{state.lines}")
def test_print_leaves_every_state_as_it_was(state: State):
    """Guards CMD:PRINT as a side errand: in any phase it queues a label and changes nothing else (a receipt's
    chosen product, a unit waiting for its serial), so the next scan means what it would have meant without it."""
    decision = decide(state, R["print"])
    assert decision.state == state and decision.actions == (A.PrintLastSerial(),)


def test_gs1_keeps_batch_and_expiry_on_the_line():
    """Guards SPEC 4: AI 10 (batch) and AI 17 (expiry) travel with the line."""
    d = decide(STICKY, R["gs1+serial"])
    assert d.actions == (A.AddLine("WID-1", "SN-7", "B1", "261231"),)


def test_walk_in_customer_when_a_sale_starts_without_one():
    """Guards the walk-in customer: a sale opened by a product or serial is marked walk-in."""
    d = decide(IDLE_SELL, R["known"])
    assert d.actions[0] == A.OpenDocument("sale", walk_in=True)
    d = decide(IDLE_SELL, R["cus"])
    assert d.actions[0] == A.OpenDocument("sale", customer="BOB")


def test_return_station_opens_a_customer_return_from_the_serial():
    """Guards the return opened by scanning a sold serial at a return station (no customer scanned)."""
    d = decide(IDLE_RETURN, R["known"])
    assert d.actions == (A.OpenDocument("customer_return"), A.AddLine("WID-1", "SN-1"))


@pytest.mark.parametrize("state", STATES, ids=lambda s: f"{s.phase.value}-{s.mode.value}-{s.lines}")
def test_a_badge_or_logout_leaves_the_document_where_it_stands(state: State):
    """Guards SPEC 4's operators: signing in or out mid-document changes who scans, never the document, the chosen
    product or the lines, in every phase (a new badge replaces who is signed in; their next lines are theirs)."""
    for reading, action in ((R["usr"], A.SignIn("U17")), (R["logout"], A.SignOut())):
        d = decide(state, reading)
        assert d.state == state and d.actions == (action,)


def test_unserialised_product_takes_one_unit_per_scan():
    """Guards 'serial_required_* off takes one unit per product scan', however many times it is scanned."""
    state = OPEN_RECEIPT_EMPTY
    for n in range(1, 4):
        d = decide(state, R["loose"])
        assert d.actions == (A.AddLine("LOOSE"),)
        state = d.state
        assert state.lines == n
    # A serial scanned next is recorded on the last unit, not a unit of its own.
    d = decide(state, R["new"])
    assert d.actions == (A.AttachSerial("SN-99"),) and d.state.lines == 3


# -- Hypothesis: any state, any reading ------------------------------------------------------

products = st.sampled_from([WIDGET, GADGET, LOOSE, ProductInfo("X", "", False, True)])
texts = st.text(max_size=80)


MODES = ["receive", "sell", "return", "service", "move", "count"]


@st.composite
def states(draw) -> State:
    mode = draw(st.sampled_from(MODES))
    kind = draw(st.sampled_from([None, "receipt", "sale", "customer_return", "supplier_return", "service_check_in",
                                 "service_check_out", "move", "transfer", "count", "arrival"]))
    if kind is None:
        return State(mode)
    product = draw(st.none() | products)
    phases = [Phase.open] + ([Phase.awaiting_serial, Phase.sticky] if product is not None else [])
    phases += [Phase.replacing] if kind == "service_check_out" else []
    phases = [phase for phase in phases if phase in decisions.PHASES[mode]]  # a State is one its mode can reach
    return State(mode, kind, draw(st.sampled_from(phases)), lines=draw(st.integers(0, 1000)), product=product,
                 attach=draw(st.booleans()))


@st.composite
def readings(draw) -> Reading:
    """Readings as the reader makes them (see Reading's promises), with arbitrary text."""
    kind = draw(st.sampled_from(list(Kind)))
    text = draw(texts)
    if kind is Kind.mode:
        return Reading(kind, text, mode=draw(st.sampled_from(MODES)))
    if kind in (Kind.supplier, Kind.customer, Kind.order, Kind.operator, Kind.transfer):
        return Reading(kind, text, code=draw(texts), found=draw(st.booleans()))
    if kind is Kind.location:
        if not draw(st.booleans()):
            return Reading(kind, text, code=draw(texts), found=False)
        return Reading(kind, text, code="A-1", location=LocationInfo(1, "A-1", "A", 1, "S", "Site",
                                                                      here=draw(st.booleans())))
    if kind is Kind.gs1:
        product = draw(st.none() | products)
        return Reading(kind, text, code=draw(texts), found=product is not None, product=product,
                       serial=draw(st.none() | texts), batch=draw(st.none() | texts), expiry=draw(st.none() | texts),
                       in_service=draw(st.booleans()))
    if kind is Kind.product:
        return Reading(kind, text, product=draw(products))
    if kind is Kind.known_serial:
        return Reading(kind, text, serial=draw(texts), product=draw(st.none() | products),
                       in_service=draw(st.booleans()))
    if kind is Kind.unknown:
        return Reading(kind, text, serial=text)
    return Reading(kind, text)


@settings(max_examples=200, deadline=None)
@given(states(), readings())
def test_decide_never_raises_anything_but_a_refusal(state: State, reading: Reading):
    """Guards against a state machine that crashes on some state and input, or refuses with an undocumented code."""
    try:
        decision = decide(state, reading)
    except Refusal as refusal:
        assert refusal.code in REFUSAL_CODES, refusal
        assert refusal.message.strip()
        return
    assert isinstance(decision, decisions.Decision)
    assert decision.state.mode in MODES
    assert decision.state.lines >= 0
    if decision.state.phase is Phase.awaiting_serial:
        assert decision.state.product is not None


# -- the service desk ---------------------------------------------------------------------------------

@pytest.mark.parametrize("reading, kind", [
    pytest.param("known", "service_check_in", id="not_in_service_goes_in"),
    pytest.param("in-service", "service_check_out", id="in_service_goes_out"),
    pytest.param("gs1+serial-in-service", "service_check_out", id="gs1_in_service_goes_out"),
])
def test_desk_opens_the_document_the_serial_asks_for(reading, kind):
    """Guards SPEC 4's service flow: a serial not in service opens a check-in, one in service a check-out."""
    d = decide(IDLE_SERVICE, R[reading])
    assert d.actions == (A.OpenDocument(kind), A.AddLine("WID-1", R[reading].serial))
    assert d.state.document_kind == kind and d.state.lines == 1


def test_empty_check_in_gives_way_to_a_check_out_for_the_same_customer():
    """Guards CUS: first at the desk: an empty check-in turns into the check-out the first serial needs, its
    customer kept (the action copies it), while a check-in with lines never takes a check-out's unit."""
    d = decide(CHECK_IN_EMPTY, R["in-service"])
    assert d.actions == (A.SwitchDocument("service_check_out", "SN-5"), A.AddLine("WID-1", "SN-5"))
    assert d.state.document_kind == "service_check_out"
    with pytest.raises(Refusal) as exc:
        decide(CHECK_IN, R["in-service"])
    assert exc.value.code == "document_open" and "SN-5" in exc.value.message


def test_replace_stays_armed_through_refused_serials_until_one_is_accepted():
    """Guards SPEC 4: CMD:REPLACE then refused scans keep it armed; the accepted serial becomes the replacement."""
    state = decide(CHECK_OUT, R["replace"]).state
    assert state.phase is Phase.replacing
    for refused in ("new", "widget", "gs1"):
        with pytest.raises(Refusal):
            decide(state, R[refused])
    d = decide(state, R["known"])
    assert d.actions == (A.AddReplacement("SN-1"),)
    assert d.state.phase is Phase.open and d.state.lines == CHECK_OUT.lines + 1


def test_another_command_disarms_the_replacement():
    """Guards SPEC 4: a command other than CMD:REPLACE ends the armed replacement (undo gives none, no line lost)."""
    assert decide(REPLACING, R["undo"]).state == dataclasses.replace(REPLACING, phase=Phase.open)
    assert decide(REPLACING, R["finish"]).state.phase is Phase.idle
    assert decide(REPLACING, R["cancel"]).state.phase is Phase.idle
    assert decide(REPLACING, R["replace"]).state is REPLACING


def test_a_replacing_station_has_a_check_out():
    """Guards the State's promise the table relies on: only a check-out with a unit can be armed."""
    with pytest.raises(ValueError):
        State("service", "service_check_in", "replacing", lines=1)
