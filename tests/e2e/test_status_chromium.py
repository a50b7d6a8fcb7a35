"""`/status` in headless Chromium (Debian's `/usr/bin/chromium`, driven by playwright; never a browser
download), against a ttsign server with keys whose upstream is the offline fake TikTok, in the states an
operator meets: healthy, drift, maintenance, on a phone, in dark mode.

The browser opens `/status?api_key=KEY` as a person would (a browser cannot send `X-Api-Key`): the 303
moves the key into a cookie and every later load, the page's own refreshes included, rides on it. The
monitor's memory (`services.monitor`, a `MonitorState`) is filled in directly; maintenance goes through
`POST /v1/admin/maintenance` with an admin key (a build without that route: the flag's own `set` on the
server's loop, or a stand-in flag where there is none). Every request the page makes is recorded; one off
the ttsign origin fails the test.

Screenshots are saved to `.artifacts/status/` at the repository root (gitignored), one per state, with
stable names: `healthy.png`, `drift.png`, `maintenance.png`, `phone.png`, `dark.png`.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ServerThread
from tests.fakes.tiktok import FAKE_ROOM_ID, FakeTikTok
from ttsign import __version__
from ttsign.config import Settings
from ttsign.monitor.model import CheckResult, CycleResult, Event
from ttsign.monitor.state import MonitorState
from ttsign.server import logs, status_snapshot

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
ARGS += ["--disable-component-update", "--disable-sync"]
KEY = "status-chromium-test-key-0123456789"
ADMIN_KEY = "status-chromium-admin-key-0123456789"
TIMEOUT_MS = 10_000
SHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "status"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
MESSAGE = "upgrading the signer after TikTok's change, back within the hour"
SDK = {
    "version": "1.0.0.1957",
    "sha256": "9f" * 32,
    "url": "https://sf16-website-login.neutral.ttwstatic.com/obj/webmssdk.js",
}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, timeout=TIMEOUT_MS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    logs.configure("warning", True)  # as `ttsign serve` does: redacted JSON lines
    with FakeTikTok() as fake:
        settings = Settings(
            log_json=True,
            log_level="warning",
            api_keys=KEY,
            admin_keys=ADMIN_KEY,
            tiktok_www=fake.base_url,
            ttwid_url=fake.ttwid_url,
            webcast_url=fake.webcast_url,
            ws_url=fake.ws_url,
            upstream_timeout=5,
        )
        with ServerThread(settings) as srv:
            call(srv, f"/webcast/fetch?room_id={FAKE_ROOM_ID}&client=ttlive-python")  # one identity in the pool
            yield srv


def services(srv: ServerThread) -> Any:
    return srv.server.config.app.state.services


def call(
    srv: ServerThread, path: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(srv.url + path, data=data, headers={"X-Api-Key": KEY, **(headers or {})})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(resp.status)


def monitor_of(srv: ServerThread) -> MonitorState:
    """The server's own MonitorState, emptied (one is made when the build has no monitor yet)."""
    svc = services(srv)
    state = svc.monitor if isinstance(svc.monitor, MonitorState) else getattr(svc.monitor, "state", None)
    if not isinstance(state, MonitorState):
        state = svc.monitor = MonitorState(history=96)
    state.cycles.clear()
    state.active.clear()
    state.last_drift = None
    state.sdk_seen, state.sdk_pinned = dict(SDK), dict(SDK)
    return state


CHECKS = ("agreement", "sdk_build", "player", "live_probe")


def healthy(srv: ServerThread, cycles: int = 30) -> MonitorState:
    import time

    state = monitor_of(srv)
    now = time.time()
    for i in range(cycles):
        checks = [CheckResult(name, "skipped" if name == "live_probe" else "ok") for name in CHECKS]
        state.record(CycleResult(now - 900 * (cycles - i), 2.0 + (i % 5) * 0.4, checks))
    return state


def drifted(srv: ServerThread) -> MonitorState:
    import time

    state = healthy(srv)
    event = Event(
        "drift",
        "agreement:/api/post/item_list/",
        "critical",
        "X-Gnarly layout differs from TikTok's SDK on /api/post/item_list/",
        {"fields": ["version", "env_code"], "version": {"native": "5.3.2", "browser": "5.3.3"}, "note": HOSTILE},
    )
    checks = [CheckResult("agreement", "drift", events=[event]), CheckResult("sdk_build", "drift")]
    checks += [CheckResult("player", "ok"), CheckResult("live_probe", "skipped")]
    state.record(CycleResult(time.time() - 30, 3.1, checks))
    state.last_drift = event
    state.active[event.key] = event
    state.sdk_seen = {**SDK, "version": "1.0.0.2011", "sha256": "4e" * 32}
    return state


class StandInFlag:
    """`services.maintenance` for a build without it: what `await flag.get()` returns."""

    def __init__(self, enabled: bool) -> None:
        self.state = type("State", (), {"enabled": enabled, "message": MESSAGE, "since": None, "by": "operator"})()

    async def get(self) -> Any:
        return self.state


def maintenance(srv: ServerThread, enabled: bool) -> None:
    """Switch maintenance: the admin route when the build has it, else the flag itself on the server's loop,
    else (no flag in this build) a stand-in."""
    flag = services(srv).maintenance
    if "/v1/admin/maintenance" in srv.server.config.app.openapi()["paths"] and flag is not None:
        body = {"enabled": enabled, "message": MESSAGE}
        assert call(srv, "/v1/admin/maintenance", body, {"X-Admin-Key": ADMIN_KEY}) == 200
    elif callable(getattr(flag, "set", None)) and not isinstance(flag, StandInFlag):
        loop = srv.server.servers[0].get_loop()
        asyncio.run_coroutine_threadsafe(flag.set(enabled, MESSAGE), loop).result(timeout=5)
    else:
        services(srv).maintenance = StandInFlag(enabled)


class Recorder:
    def __init__(self, page: Any, origin: str) -> None:
        self.origin, self.urls, self.foreign = origin, [], []
        page.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.urls.append(url)
        if url.startswith(self.origin + "/"):
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()


def open_status(browser: Any, srv: ServerThread, viewport: dict[str, int] = DESKTOP, **kw: Any) -> tuple[Any, Recorder]:
    context = browser.new_context(viewport=viewport, **kw)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    recorder = Recorder(page, srv.url)
    answer = page.goto(f"{srv.url}/status?api_key={KEY}", wait_until="load")
    assert answer is not None and answer.status == 200
    assert page.url == srv.url + "/status"  # the key left the address bar
    return page, recorder


def state_of(page: Any, sid: str) -> str:
    return str(page.locator(f"section#{sid}").get_attribute("data-state"))


def text_of(page: Any, sid: str) -> str:
    return str(page.locator(f"section#{sid}").inner_text())


def close(page: Any, recorder: Recorder) -> None:
    assert recorder.foreign == [], recorder.foreign
    assert {u.split("?")[0] for u in recorder.urls} == {recorder.origin + "/status"}
    page.context.close()


def test_healthy(browser: Any, server: ServerThread) -> None:
    healthy(server)
    maintenance(server, False)
    page, recorder = open_status(browser, server)
    assert page.locator("#overall").get_attribute("data-state") == "ok"
    assert page.locator("#reasons").count() == 0
    assert page.locator("[data-provider=native]").count() == 1 and state_of(page, "providers") == "ok"
    assert "closed" in text_of(page, "providers")
    assert state_of(page, "monitor") == "ok"
    bars = page.locator("section#monitor svg rect")
    assert bars.count() == 30 and page.locator("section#monitor svg rect.ok").count() == 30
    assert page.locator("section#monitor svg").bounding_box()["width"] > 500  # the chart spans its section
    assert "agreement ok" in " ".join(text_of(page, "monitor").split())
    assert state_of(page, "drift") == "none" and "no drift seen" in text_of(page, "drift")
    assert state_of(page, "sdk") == "ok" and SDK["version"] in text_of(page, "sdk")
    pool = text_of(page, "pool")
    assert "1 of 8" in pool and "connects left this hour" in pool and state_of(page, "pool") == "ok"
    assert "per minute" in text_of(page, "rate") and "key:" in text_of(page, "rate")
    assert state_of(page, "maintenance") == "off"
    assert __version__ in text_of(page, "about")
    assert page.locator("meta[http-equiv=refresh]").get_attribute("content") == str(status_snapshot.REFRESH_S)
    page.screenshot(path=str(SHOTS / "healthy.png"), full_page=True)
    close(page, recorder)


def test_drift(browser: Any, server: ServerThread) -> None:
    drifted(server)
    maintenance(server, False)
    page, recorder = open_status(browser, server)
    assert page.locator("#overall").get_attribute("data-state") == "degraded"
    assert "drift" in page.locator("#reasons").inner_text()
    assert state_of(page, "monitor") == "drift"
    assert page.locator("section#monitor svg rect").count() == 31
    assert page.locator("section#monitor svg rect.drift").count() == 1
    assert page.locator("section#monitor svg rect").last.get_attribute("class") == "drift"  # newest at the right
    assert "agreement:/api/post/item_list/" in page.locator("#active").inner_text()
    drift = text_of(page, "drift")
    assert state_of(page, "drift") == "active" and "X-Gnarly layout differs" in drift
    assert "5.3.3" in drift and "env_code" in drift
    assert HOSTILE in drift  # the hostile evidence is text on the page ...
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0  # ... not elements
    assert page.evaluate("window.pwned") is None
    sdk = text_of(page, "sdk")
    assert state_of(page, "sdk") == "drift" and "1.0.0.2011" in sdk and "1.0.0.1957" in sdk and "differs" in sdk
    page.screenshot(path=str(SHOTS / "drift.png"), full_page=True)
    close(page, recorder)


def test_maintenance(browser: Any, server: ServerThread) -> None:
    healthy(server)
    maintenance(server, True)
    try:
        page, recorder = open_status(browser, server)
        assert page.locator("#overall").get_attribute("data-state") == "down"
        assert MESSAGE in page.locator("#reasons").inner_text()
        assert state_of(page, "maintenance") == "on" and MESSAGE in text_of(page, "maintenance")
        assert "503" in text_of(page, "maintenance")
        if not isinstance(services(server).maintenance, StandInFlag):  # the real flag says since when
            assert " UTC (" in text_of(page, "maintenance")
        page.screenshot(path=str(SHOTS / "maintenance.png"), full_page=True)
        close(page, recorder)
    finally:
        maintenance(server, False)


def test_phone(browser: Any, server: ServerThread) -> None:
    """A 360 px wide phone: no horizontal scroll, the sections stacked in one column, text not tiny."""
    drifted(server)
    page, recorder = open_status(browser, server, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] == PHONE["width"], width
    boxes = [page.locator(f"section#{sid}").bounding_box() for sid in ("providers", "monitor", "drift", "pool")]
    assert len({round(b["x"]) for b in boxes}) == 1 and all(b["x"] + b["width"] <= PHONE["width"] for b in boxes)
    assert [b["y"] for b in boxes] == sorted(b["y"] for b in boxes)
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 14
    page.screenshot(path=str(SHOTS / "phone.png"), full_page=True)
    close(page, recorder)


def test_dark(browser: Any, server: ServerThread) -> None:
    """A device in dark mode gets the dark palette (prefers-color-scheme), the outcome colours still apart."""
    drifted(server)
    page, recorder = open_status(browser, server, color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)", background
    fills = {page.evaluate(f"getComputedStyle(document.querySelector('rect.{o}')).fill") for o in ("ok", "drift")}
    assert len(fills) == 2
    page.screenshot(path=str(SHOTS / "dark.png"), full_page=True)
    close(page, recorder)


def test_the_page_refreshes_itself_on_its_cookie(
    browser: Any, server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a 1 s refresh: the page reloads by itself, authenticated by the cookie, and shows the new cycle."""
    monkeypatch.setattr(status_snapshot, "REFRESH_S", 1)
    state = healthy(server, cycles=3)
    page, recorder = open_status(browser, server)
    assert page.locator("section#monitor svg rect").count() == 3
    state.record(CycleResult(state.cycles[-1].started + 900, 2.0, [CheckResult("agreement", "fail")]))
    expect(page.locator("section#monitor svg rect")).to_have_count(
        4, timeout=5000
    )  # CSP: no eval, so no wait_for_function
    assert state_of(page, "monitor") == "fail"
    assert page.url == server.url + "/status"
    assert len(recorder.urls) >= 2 and all("api_key" not in u for u in recorder.urls[1:])
    close(page, recorder)


@pytest.fixture(scope="module", autouse=True)
def _shots_dir() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
