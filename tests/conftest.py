"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

Each test module gets a fresh database (a SQLite file, or a PostgreSQL schema
of its own in the ``test`` database), migrated with alembic exactly as
``station init`` does; the tables are emptied after each test. PostgreSQL is
taken from ``$TEST_POSTGRES_URL`` (default ``postgresql+psycopg://127.0.0.1/test``).
Where it is unreachable the PostgreSQL half is skipped, except under
``CI=true``, where that is a failure. A module about PostgreSQL's own
behaviour runs on it alone with ``helpers.database.POSTGRES_ONLY``.

The API tests' fixtures (``app``, ``client``, ``world``) are here too; a
module that needs another app or catalogue defines its own, which wins. The
classes and functions the tests share are in the ``helpers`` package.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask
from helpers.contract import ContractClient
from helpers.database import BACKENDS, create_database

import station
from station.config import from_dict
from station.domain import catalogue
from web import create_app


@pytest.fixture(autouse=True, scope="session")
def _children_run_this_checkout():
    """A ``station`` the tests start as a child process (``station run`` and ``serve``, the CLI) imports this
    checkout's packages: started in a scratch directory it would import whichever checkout the environment's
    editable install points at, and a second worktree's tests would run another checkout's daemon."""
    root = str(Path(station.__file__).resolve().parent.parent)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        yield


@pytest.fixture(autouse=True, scope="session")
def _contract_client():
    """Every Flask test client, of any app a test makes, checks each API answer against the OpenAPI document
    (helpers.contract): a response that breaks it fails the test that caused it."""
    before = Flask.test_client_class
    Flask.test_client_class = ContractClient
    yield
    Flask.test_client_class = before


@pytest.fixture(autouse=True)
def _state_directory(tmp_path, monkeypatch):
    """Local files (session secret, spool) go to the test's folder, never the working directory."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))


@pytest.fixture(scope="module", params=BACKENDS)
def database(request, tmp_path_factory):
    db = create_database(request.param, tmp_path_factory.mktemp(request.param))
    yield db
    db.close()


@pytest.fixture
def db(database):
    """The module's database, emptied after the test."""
    yield database
    database.empty()


@pytest.fixture
def session(db):
    """One session on the test's database; the test commits what it means to keep."""
    with db.Session() as s:
        yield s
        s.rollback()


# -- the HTTP API on the test's database --------------------------------------------------------

@pytest.fixture
def app(db):
    """The app on the test's database (SQLite or PostgreSQL); exceptions propagate, so a 500 fails loudly."""
    app = create_app(from_dict({"database": {"url": db.url}}), engine=db.engine)
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(db):
    """WID-1 Widget (a UPC-A barcode), WID-2 Gadget, LOOSE (no serial at purchase), supplier ACME, customer BOB."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=["036000291452"])
        catalogue.create_product(s, "WID-2", "Gadget")
        catalogue.create_product(s, "LOOSE", "Loose", serial_required_for_purchase=False)
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_party(s, "customer", "BOB", "Bob")


@pytest.fixture
def testbed():
    """A fresh umockdev testbed (no devices yet): emulated USB scanners and keyboards (tests/helpers/umockdev.py)."""
    from helpers.umockdev import new_testbed

    return new_testbed()
