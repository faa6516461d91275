"""Every code an API answer can carry, by the status it comes with: the document's enums.

Kept as data, not collected at run time, so that a reader of this file (or of
the document) sees the whole vocabulary. tests/test_contract_codes.py reads
the source for every ``Refusal``, ``Invalid``, ``NotFound``, ``Conflict``,
``Refuse`` and ``error(...)`` and fails when a code is missing here, or sits
under a status its class does not answer with (web.api.errors.STATUS).
"""
from __future__ import annotations

#: 422, and the ``code`` of a refused scan: what the stock rules and the scan machine say no with (SPEC 4).
RULES = (
    "unknown_barcode", "invalid_scan", "no_open_document", "serial_required", "serial_in_stock",
    "serial_on_open_document", "serial_wrong_product", "serial_has_customer", "serial_not_in_stock",
    "serial_no_customer", "unknown_party", "quantity_exceeds_order", "nothing_to_undo", "document_open",
    "unknown_document", "serial_in_service", "serial_not_in_service", "serial_wrong_customer", "serial_faulty",
    "unknown_operator", "operator_required", "nothing_to_print", "unknown_printer", "nothing_to_replace",
    "serial_not_expected", "product_required", "out_of_stock", "empty_document", "wrong_mode", "document_not_open",
    "serial_at_other_site", "serial_in_transit", "serial_already_there", "serial_not_on_transfer", "unknown_location",
)

#: 400: malformed input (web.api.errors: ``Invalid``).
MALFORMED = (
    "bad_request", "invalid_json", "invalid_field", "unknown_field", "invalid_serial", "invalid_barcode",
    "invalid_quantity", "invalid_key", "read_only",
)

#: 404: a record named in the path or the body does not exist (``NotFound``); ``not_found``: no such URL.
UNKNOWN = (
    "not_found", "unknown_serial", "unknown_product", "unknown_party", "unknown_document", "unknown_barcode",
    "unknown_station", "unknown_operator",
)

#: 409: the key exists already (``Conflict``); ``conflict``: the database's unique index stopped a race;
#: ``id_reused``: a scan's idempotency key sent again with other data.
TAKEN = ("duplicate", "duplicate_barcode", "barcode_is_serial", "conflict", "id_reused")

#: The rest, one status each (web.api.errors, web.security, web.server).
BY_STATUS: dict[int, tuple[str, ...]] = {
    400: MALFORMED,
    401: ("unauthorized",),
    404: UNKNOWN,
    405: ("method_not_allowed",),
    408: ("request_timeout",),
    409: TAKEN,
    413: ("too_large",),
    415: ("unsupported_media_type",),
    422: RULES,
    429: ("too_many_streams_from_client",),
    500: ("internal_error",),
    501: ("events_unavailable",),
    503: ("database_unavailable", "offline", "held", "too_many_streams"),
}

#: A scan is refused with any code the domain or the scan machine can give (its answer is 200 all the same).
SCAN_REFUSALS = tuple(sorted(set(RULES) | {"invalid_serial", "invalid_quantity", "invalid_barcode",
                                            "invalid_field", "unknown_product", "unknown_serial", "unknown_document",
                                            "unknown_operator", "duplicate", "barcode_is_serial",
                                            "duplicate_barcode"}))

#: 400s that no schema can foresee, because they depend on the records: a serial equal to a product barcode
#: (SPEC 2: it could never be scanned). Every other 400 means the request broke the document.
BEYOND_SCHEMA = frozenset({"invalid_serial"})
