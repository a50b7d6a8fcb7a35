"""The pages a person opens, in headless Chromium (Debian's `/usr/bin/chromium`, driven by playwright;
`make test` installs it, never a browser download): `/docs` and `/redoc` render every operation with no
request leaving the machine, `/` renders with working links, and a page on another origin can call ttsign
when `TTSIGN_CORS_ORIGINS` lists it (and cannot when it does not).

Every request a page makes is recorded; anything not for the ttsign origin is aborted and fails the test.
Screenshots go to a temporary directory (`TTSIGN_SCREENSHOTS` names one to keep them).
"""

from __future__ import annotations

import http.server
import json
import os
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ServerThread, free_port
from ttsign.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KEY = "chromium-page-test-key-0123456789"
TIMEOUT_MS = 10_000
SIGN_BODY = {"url": "https://www.tiktok.com/api/user/detail/?aid=1988&uniqueId=someone"}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")


@pytest.fixture(scope="module")
def shots() -> Iterator[Path]:
    keep = os.environ.get("TTSIGN_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        yield Path(keep)
        return
    with tempfile.TemporaryDirectory(prefix="ttsign-shots-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, timeout=TIMEOUT_MS)
        yield chromium
        chromium.close()


class OtherOrigin:
    """A tiny page on a second local port: a browser overlay that calls ttsign with `fetch`."""

    PAGE = b"<!doctype html><title>overlay</title><p>an overlay on another origin</p>"

    def __init__(self) -> None:
        page = self.PAGE

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> OtherOrigin:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def overlay() -> Iterator[OtherOrigin]:
    with OtherOrigin() as other:
        yield other


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"log_json": True, "log_level": "warning", "api_keys": KEY}
    base.update(overrides)
    return Settings(**base)


@pytest.fixture(scope="module")
def ttsign(overlay: OtherOrigin) -> Iterator[ServerThread]:
    """Keys on (so a preflight that needed one would fail), one signing request a minute (so the second
    call is a 429 whose headers the page must be able to read), CORS for the overlay's origin."""
    with ServerThread(settings(rate_limit_minute=1, cors_origins=overlay.url)) as srv:
        yield srv


@pytest.fixture(scope="module")
def ttsign_no_cors() -> Iterator[ServerThread]:
    with ServerThread(settings()) as srv:
        yield srv


class Recorder:
    """Every request a page makes; anything off the ttsign origin is aborted (the machine is offline)."""

    def __init__(self, page: Any, origin: str) -> None:
        self.origin = origin
        self.urls: list[str] = []
        self.foreign: list[str] = []
        page.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.urls.append(url)
        if url.startswith(self.origin + "/"):
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()


def open_page(browser: Any, srv: ServerThread, path: str) -> tuple[Any, Recorder]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    recorder = Recorder(page, srv.url)
    page.goto(srv.url + path, wait_until="networkidle")
    return page, recorder


def operations(srv: ServerThread) -> list[tuple[str, str]]:
    with urllib.request.urlopen(srv.url + "/openapi.json", timeout=5) as resp:
        schema = json.load(resp)
    return [(method, path) for path, ops in schema["paths"].items() for method in ops]


def test_docs_renders_every_operation_offline(browser: Any, ttsign: ServerThread, shots: Path) -> None:
    expected = operations(ttsign)
    page, recorder = open_page(browser, ttsign, "/docs")
    page.wait_for_selector(".opblock")
    blocks = page.locator(".opblock")
    assert blocks.count() == len(expected) > 10
    rendered = {
        (blocks.nth(i).locator(".opblock-summary-method").inner_text().lower(), blocks.nth(i).get_attribute("id"))
        for i in range(blocks.count())
    }
    assert {method for method, _ in rendered} == {method for method, _ in expected}
    assert page.locator(".btn.authorize").count() == 1  # the API-key schemes are offered
    page.screenshot(path=shots / "docs.png")
    assert recorder.foreign == [], recorder.foreign
    assert any("/openapi.json" in url for url in recorder.urls)
    assert len(recorder.urls) >= 3  # the page, its script and style, the schema: all from ttsign
    page.close()


def test_redoc_renders_every_operation_offline(browser: Any, ttsign: ServerThread, shots: Path) -> None:
    expected = operations(ttsign)
    page, recorder = open_page(browser, ttsign, "/redoc")
    page.wait_for_selector("[data-section-id^='operation/']")
    assert page.locator("[data-section-id^='operation/']").count() == len(expected)
    assert "ttsign" in page.locator("h1").first.inner_text()
    page.screenshot(path=shots / "redoc.png")
    assert recorder.foreign == [], recorder.foreign
    page.close()


def test_landing_page_renders_with_working_links(browser: Any, ttsign: ServerThread, shots: Path) -> None:
    page, recorder = open_page(browser, ttsign, "/")
    assert "ttsign" in page.title()
    from ttsign import __version__

    assert __version__ in page.locator("body").inner_text()
    assert f"SIGN_API_URL={ttsign.url}" in page.locator("pre").first.inner_text()
    page.screenshot(path=shots / "landing.png", full_page=True)
    hrefs = [a.get_attribute("href") for a in page.locator("a").all()]
    for path in ("/docs", "/redoc", "/health", "/metrics"):
        assert path in hrefs, hrefs
    for href in hrefs:  # every link answers 200 from the browser (with no API key)
        answer = page.request.get(ttsign.url + href if href.startswith("/") else href)
        assert answer.status == 200, (href, answer.status)
    page.click("a[href='/docs']")
    page.wait_for_selector(".opblock")
    assert recorder.foreign == [], recorder.foreign
    page.close()


FETCH_TWICE = """async ([url, key, body]) => {
    const call = () => fetch(url + "/v1/sign", {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-Api-Key": key},
        body: JSON.stringify(body),
    });
    const first = await call();
    const second = await call();
    return {
        first: first.status,
        request_id: first.headers.get("X-Request-Id"),
        second: second.status,
        retry_after: second.headers.get("Retry-After"),
        remaining: second.headers.get("RateLimit-Remaining"),
        signed: (await first.json()).data.signed_url,
    };
}"""

FETCH_ONCE = """async ([url, key, body]) => {
    try {
        const r = await fetch(url + "/v1/sign", {
            method: "POST",
            headers: {"Content-Type": "application/json", "X-Api-Key": key},
            body: JSON.stringify(body),
        });
        return "answered " + r.status;
    } catch (e) {
        return "refused: " + e.name;
    }
}"""


def test_cors_lets_a_listed_origin_call_ttsign(browser: Any, ttsign: ServerThread, overlay: OtherOrigin) -> None:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    preflights: list[tuple[str, str]] = []
    page.on("request", lambda r: preflights.append((r.method, r.url)))
    page.goto(overlay.url + "/")
    out = page.evaluate(FETCH_TWICE, [ttsign.url, KEY, SIGN_BODY])
    assert out["first"] == 200 and out["signed"].startswith("https://www.tiktok.com/api/user/detail/")
    assert out["request_id"]  # exposed: the page can quote it in a bug report
    assert out["second"] == 429 and int(out["retry_after"]) > 0 and int(out["remaining"]) > 0
    page.close()


def test_cors_refuses_an_origin_when_not_configured(
    browser: Any, ttsign_no_cors: ServerThread, overlay: OtherOrigin
) -> None:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(overlay.url + "/")
    assert page.evaluate(FETCH_ONCE, [ttsign_no_cors.url, KEY, SIGN_BODY]) == "refused: TypeError"
    page.close()
