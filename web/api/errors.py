"""Every API error as JSON: ``{"error": {"code": "...", "message": "..."}}``.

Status codes, one rule each, by the class of the refusal (``STATUS``):

- 400 ``Invalid``: malformed input (``invalid_json``, ``invalid_field``,
  ``invalid_serial``, ``invalid_barcode``, ``unknown_field``, ``read_only``).
- 404 ``NotFound``: a record named in the path *or the body* does not exist
  (``unknown_serial``, ``unknown_product``, ``unknown_party``,
  ``unknown_document``, ``unknown_barcode``); ``not_found`` for an unknown URL.
- 405 ``method_not_allowed``, with an ``Allow`` header.
- 409 ``Conflict``: the key exists already (``duplicate``,
  ``duplicate_barcode``, ``barcode_is_serial``, ``id_reused``: a scan's id
  the station had with other data), and ``conflict`` when the database's
  own unique index stops a request that raced another.
- 413 ``too_large`` (body over 4 KiB), 415 ``unsupported_media_type``.
- 422 every other ``Refusal``: well-formed, but the stock rules say no in the
  present state (``serial_in_stock``, ``serial_not_in_stock``,
  ``serial_on_open_document``, ``out_of_stock``...).
- 503 ``database_unavailable``; 500 ``internal_error`` only for a bug.

Whatever the status, the request's transaction was rolled back first
(web.db.transaction), so a refused request wrote nothing.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from station.domain.errors import Conflict, Invalid, NotFound, Refusal

from .inputs import MAX_BODY, RequestRefused
from .paths import sent_path

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}


def error(code: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


#: The status each class of refusal answers with; the first class in a refusal's MRO found here wins.
STATUS: dict[type[Refusal], int] = {Invalid: 400, NotFound: 404, Conflict: 409, Refusal: 422}


def status_of(exc: Refusal) -> int:
    if isinstance(exc, RequestRefused):
        return exc.status
    return next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)


def _refusal(exc: Refusal):
    return error(exc.code, exc.message, status_of(exc))


def _integrity(exc: IntegrityError):
    log.info("unique or foreign key violation, rolled back: %s", exc.orig)
    return error("conflict", "Another request changed the same record at the same moment: try again.", 409)


def _data(exc: DataError):
    log.warning("database refused a value: %s", exc.orig)
    return error("invalid_field", "The database refused a value in the request (too long or out of range).", 400)


def _unavailable(exc: OperationalError):
    log.error("database unavailable: %s", exc.orig)
    return error("database_unavailable", "The database cannot be reached: try again shortly.", 503)


def _under(prefix: str) -> bool:
    return request.path == prefix or request.path.startswith(prefix + "/")


def register(bp: Blueprint, prefix: str) -> None:
    """Handlers for the API's own views, plus JSON for HTTP errors of any URL under ``prefix``.

    Routing errors (404, 405) happen before any blueprint is chosen, so their
    handler is app-wide and answers JSON only under the API prefix, leaving
    every other URL to Flask's default (or the pages' own handler).
    """
    bp.register_error_handler(Refusal, _refusal)
    bp.register_error_handler(IntegrityError, _integrity)
    bp.register_error_handler(DataError, _data)
    bp.register_error_handler(OperationalError, _unavailable)

    @bp.app_errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if not _under(prefix):
            return exc
        status = exc.code or 500
        code = HTTP_CODES.get(status, "http_error")
        if status == 404:
            message = f"No API endpoint {request.method} {sent_path()}."
        elif status == 405:
            message = (f"{request.method} is not allowed here; use"
                       f" {', '.join(getattr(exc, 'valid_methods', None) or [])}.")
        elif status == 413:
            message = f"The request body is over {MAX_BODY} bytes."
        elif status == 500:
            message = "Internal error: the request was rolled back and logged."
        else:
            message = exc.description or exc.name
        response, status = error(code, message, status)
        for name, value in exc.get_headers():
            if name.lower() == "allow":
                response.headers[name] = value
        return response, status
