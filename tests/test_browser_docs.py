"""/api/docs in a real browser (SPEC 5, issue 25): the OpenAPI document rendered by Swagger UI served by the station
itself, so it works on a station with no internet, under the pages' Content Security Policy."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")

from helpers.api import serve  # noqa: E402
from helpers.browser import chromium  # noqa: E402
from helpers.database import create_database  # noqa: E402

from station.config import Config, DatabaseConfig, StationConfig  # noqa: E402
from web.app import create_app  # noqa: E402

expect = playwright_api.expect


@pytest.fixture
def server(tmp_path):
    db = create_database("sqlite", tmp_path)
    app = create_app(Config(database=DatabaseConfig(db.url), stations=(StationConfig("default", "sell"),)),
                     engine=db.engine)
    try:
        with serve(app) as port:
            yield f"http://127.0.0.1:{port}"
    finally:
        db.close()


def test_docs_render_the_document_from_this_server_only(server, tmp_path):
    """Guards the offline station: the page shows the API's routes and operations, every file it asks for comes from
    the station itself (no CDN), and no script is refused by the Content Security Policy."""
    requested: list[str] = []
    refused: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.on("request", lambda r: requested.append(r.url))
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(server + "/api/docs")
        expect(page.locator(".information-container .title")).to_contain_text("Barcode station")
        operations = page.locator(".opblock-summary-path")
        expect(operations.first).to_be_visible()
        paths = set(operations.all_inner_texts())
        assert {"/api/stations/{station}/scans", "/api/serials/{serial}", "/api/products", "/api/events",
                "/metrics"} <= {p.replace("\u200b", "") for p in paths}
        page.locator("#operations-stations-scan").click()
        expect(page.locator("#operations-stations-scan")).to_contain_text("id_reused")
        page.screenshot(path=str(tmp_path / "docs.png"))
    origins = {urlsplit(u)._replace(path="", query="", fragment="").geturl() for u in requested
               if not u.startswith("data:")}
    assert origins == {server}, requested
    assert refused == []
