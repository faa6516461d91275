"""Every API request a test makes through a Flask test client, checked against the app's OpenAPI document.

conftest.py makes :class:`ContractClient` the test client of every Flask
app (``Flask.test_client_class``), so each test that calls the API checks
the contract as it goes, with no opt-in. For a request under ``/api`` or to
``/metrics`` (the document's paths):

- the answer must match the document (status, content type, every key):
  openapi-core's response validation;
- a request the document calls valid is never refused as malformed (400),
  but for the codes no schema can foresee (web.contract.codes.BEYOND_SCHEMA);
- a request the document calls invalid is never accepted (2xx);
- a URL or method the document does not have answers 404 ``not_found`` or
  405 ``method_not_allowed``.

A violation raises :class:`ContractViolation` from the request itself, so
the test that made it fails, naming the request and what broke.

OPTIONS is left to tests/test_contract_document.py, which asks every path
for its ``Allow``.
"""
from __future__ import annotations

import io
import json
import warnings
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.validation.request.exceptions import SecurityValidationError
from werkzeug.wrappers import Request

from web.api.paths import decode
from web.contract import document
from web.contract.codes import BEYOND_SCHEMA
from web.contract.locations import FORMATS

BODY = "contract.body"
OPENAPI = "contract.openapi"
MALFORMED = 400
INTEGER_ARGS = ("page", "per_page", "after", "limit")
KEYED = ("serials", "products", "operators", "documents", "suppliers", "customers", "locations")


class ContractViolation(AssertionError):
    """An answer, or the server's reading of a request, that the OpenAPI document does not allow."""


def described(path: str) -> bool:
    return path.startswith("/api/") or path == "/metrics"


@lru_cache(maxsize=8)
def _openapi(text: str) -> OpenAPI:
    # The document's own string formats (a GLN's check digit) checked as it defines them.
    return OpenAPI.from_dict(json.loads(text), config=Config(extra_format_validators=FORMATS))


def openapi_of(app: Flask) -> OpenAPI:
    """The app's document as openapi-core reads it: kept on the app, made once per distinct document."""
    found = app.extensions.get(OPENAPI)
    if found is None:
        found = app.extensions[OPENAPI] = _openapi(json.dumps(document(app), sort_keys=True))
    return found


class _Request(WerkzeugOpenAPIRequest):
    """The request as sent: its body as the test sent it, its path with each key's literal '/' as %2F.

    The API reads a key as everything after the collection but the action
    (web.api.paths), so ``/api/serials/SN/1`` is the serial ``SN/1``; the
    document spells that ``/api/serials/SN%2F1``, as a client should send it.
    """

    def __init__(self, request: Request, body: bytes):
        super().__init__(request)
        self._body = body

    @property
    def body(self) -> bytes:
        return self._body

    @property
    def method(self) -> str:
        return "get" if self.request.method == "HEAD" else self.request.method.lower()

    @property
    def path(self) -> str:
        parts = self.request.path.split("/")
        if len(parts) < 4 or parts[1] != "api" or parts[2] not in KEYED:
            return self.request.path
        environ = self.request.environ
        raw = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or "").split("?", 1)[0].split("/")
        # The same split as the view's (web.api.paths.tail_parts): at the slashes literal in the request.
        keys = [decode(p) for p in raw[3:]] if raw[:3] == parts[:3] else parts[3:]
        actions = _actions(parts[2], keys, self.request.method)
        key, action = keys[:len(keys) - actions], keys[len(keys) - actions:]
        return "/".join(["", "api", parts[2], quote("/".join(key), safe=""), *(quote(a, safe="") for a in action)])


def _actions(collection: str, keys: list[str], method: str) -> int:
    """How many parts at the end are an action, as web.api.serials.item and web.api.products.item read them."""
    if collection == "serials":
        return 1 if len(keys) >= 2 and keys[-1] == "adjust" else 0
    if collection != "products":
        return 0
    suffix = 1 if len(keys) >= 2 and keys[-1] in ("adjust", "barcodes") else 0
    barcode = 2 if len(keys) >= 3 and keys[-2] == "barcodes" else 0
    return (barcode or suffix) if method == "DELETE" else (suffix or barcode)


class ContractClient(FlaskClient):
    """A Flask test client that holds every API answer to the app's OpenAPI document."""

    def run_wsgi_app(self, environ: dict[str, Any], buffered: bool = False):
        stream = environ.get("wsgi.input")
        body = stream.read() if stream is not None else b""
        environ[BODY] = body
        environ["wsgi.input"] = io.BytesIO(body)
        return super().run_wsgi_app(environ, buffered=buffered)

    def open(self, *args: Any, **kwargs: Any):
        response = super().open(*args, **kwargs)
        request = response.request
        if described(request.path) and request.method != "OPTIONS":
            check(self.application, request, response)
        return response


def _label(request: Request, response) -> str:
    return (f"{request.method} {request.full_path.rstrip('?')} -> {response.status_code}"
            f" {response.get_data(as_text=True)[:500]}")


def check(app: Flask, request: Request, response) -> None:
    """Raise ContractViolation when the exchange breaks the document (the rules in this module's docstring)."""
    openapi = openapi_of(app)
    req = _Request(request, request.environ.get(BODY, b""))
    try:
        with warnings.catch_warnings():
            # "allowEmptyValue is deprecated": the document keeps it, because the API takes q= as no q (as a
            # search form sends it), and OpenAPI has no other way to say so.
            warnings.simplefilter("ignore", DeprecationWarning)
            openapi.validate_request(req)
    except (PathNotFound, OperationNotFound):
        _not_described(app, request, response)
        return
    except SecurityValidationError as exc:  # pragma: no cover - every operation accepts no credentials
        raise ContractViolation(f"{_label(request, response)}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any of openapi-core's validation errors: the request is invalid
        invalid: Exception | None = exc
    else:
        invalid = _loose_integer(request) or _lone_surrogate(req.body)
    if request.method != "HEAD":
        try:
            openapi.validate_response(req, WerkzeugOpenAPIResponse(response))
        except Exception as exc:  # noqa: BLE001
            raise ContractViolation(f"the answer breaks the document: {_label(request, response)}\n{_why(exc)}") \
                from None
    if invalid is None and response.status_code == MALFORMED and _code(response) not in BEYOND_SCHEMA:
        raise ContractViolation(f"refused as malformed a request the document calls valid: {_label(request, response)}")
    if invalid is not None and response.status_code < 400:
        raise ContractViolation(f"accepted a request the document calls invalid: {_label(request, response)}\n"
                                f"{_why(invalid)}")


def _loose_integer(request: Request) -> Exception | None:
    """An integer argument openapi-core would take but no URL spells so: its cast is Python's int(), which reads
    other scripts' digits ('٣') and surrounding whitespace too. An integer in a query string is ASCII digits."""
    for name in INTEGER_ARGS:
        for value in request.args.getlist(name):
            if value and not (value.isascii() and value.isdigit()):
                return ValueError(f"query argument {name}={value!r} is not an integer")
    return None


def _lone_surrogate(body: bytes) -> Exception | None:
    """JSON text that escapes half a surrogate pair ("\\ud800") holds no Unicode text (RFC 8259 8.2): the server
    refuses it as invalid_json. No schema pattern can say so (Rust's regex, schemathesis', cannot name them)."""
    try:
        text = json.loads(body)
    except ValueError:
        return None
    stack = [text]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return ValueError("the body holds a lone surrogate")
        elif isinstance(item, dict):
            stack.extend([*item.keys(), *item.values()])
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _code(response) -> str | None:
    try:
        return response.get_json()["error"]["code"]
    except (TypeError, KeyError, ValueError):
        return None


def _why(exc: Exception) -> str:
    """The validator's reasons, innermost first (openapi-core nests them)."""
    out = [f"{type(exc).__name__}: {exc}"]
    seen = exc
    while (cause := seen.__cause__ or seen.__context__) is not None and len(out) < 6:
        out.append(f"{type(cause).__name__}: {cause}")
        for inner in getattr(cause, "schema_errors", ()) or ():
            out.append(f"  {inner.message} at {list(inner.absolute_path)}")
        seen = cause
    return "\n".join(out)


def _not_described(app: Flask, request: Request, response) -> None:
    """A URL or method the document does not have: 404 or 405, as the document's error of that status."""
    status = response.status_code
    if status not in (404, 405):
        raise ContractViolation(f"no operation in the document for {_label(request, response)}")
    if not request.path.startswith("/api/"):
        return  # /metrics: outside the API's prefix, its routing errors are the pages' (HTML)
    body = response.get_json(silent=True)
    codes = document(app)["components"]["schemas"][f"Error{status}"]["properties"]["error"]["properties"]["code"]
    if not (isinstance(body, dict) and set(body) == {"error"} and body["error"].get("code") in codes["enum"]):
        raise ContractViolation(f"an unknown URL or method answers {_label(request, response)}")
