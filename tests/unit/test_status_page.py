"""The status page: rendering (every section, the SVG chart, hostile text escaped), the snapshot gathered
from real services (a broken part does not break the page), and who may open `/status` (loopback open
mode; with keys: a header, `?api_key=` moved into a cookie, the cookie, never on another route; the key
never in a log line)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import make_settings
from ttsign import __version__
from ttsign.monitor.model import CheckResult, CycleResult, Event
from ttsign.monitor.state import MonitorState
from ttsign.server import logs, status_page, status_snapshot
from ttsign.server.app import create_app

NOW = 1_790_000_000.0
KEY = "status-page-test-key-0123456789"
HOSTILE = '<script>window.pwned=1</script><img src=x onerror="alert(1)">'
SECTIONS = ("maintenance", "providers", "monitor", "drift", "sdk", "pool", "rate", "alerts", "about")


class Tags(HTMLParser):
    """Every start tag and attribute of a document (what a browser would build elements from)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    p.close()
    return p


def cycle(started: float, outcome: str, duration: float = 1.5) -> dict[str, Any]:
    return {
        "started": started,
        "duration_s": duration,
        "outcome": outcome,
        "checks": [{"name": "agreement", "outcome": outcome}, {"name": "sdk_build", "outcome": "ok"}],
    }


def snapshot(**over: Any) -> dict[str, Any]:
    snap: dict[str, Any] = {
        "version": __version__,
        "now": NOW,
        "started_at": NOW - 7500,
        "uptime_s": 7500.0,
        "refresh_s": 15,
        "overall": "degraded",
        "reasons": ["last monitor cycle: drift (agreement)"],
        "providers": [
            {"name": "native", "status": "ok", "breaker": "closed", "calls": 12, "failed": 0, "last_error": None},
            {
                "name": "browser",
                "status": "down",
                "breaker": "open",
                "calls": 7,
                "failed": 5,
                "next_probe_in_s": 20.0,
                "last_error": {"kind": "timeout", "message": "no answer in 3 s", "at": NOW - 30},
                "detail": "SDK 1.0.0.1957",
            },
        ],
        "monitor": {
            "configured": True,
            "running": True,
            "cycles": [cycle(NOW - 900 * (10 - i), "ok", 1.0 + i / 10) for i in range(9)] + [cycle(NOW - 60, "drift")],
            "active": [{"key": "agreement:/api/post/item_list/", "severity": "critical", "title": "drift", "at": NOW}],
        },
        "last_drift": {
            "kind": "drift",
            "key": "agreement:/api/post/item_list/",
            "severity": "critical",
            "title": "X-Gnarly layout differs from the SDK's",
            "detail": {"fields": ["env_code"], "env_code": {"native": 1, "browser": 3}},
            "at": NOW - 60,
            "active": True,
        },
        "sdk": {
            "seen": {"version": "1.0.0.2000", "sha256": "b" * 64},
            "pinned": {"version": "1.0.0.1957", "sha256": "a" * 64},
        },
        "pool": {
            "status": "ok",
            "identities": 2,
            "max_identities": 8,
            "connects_per_hour": 15,
            "ttl_s": 7200,
            "connects_left": 27,
            "items": [
                {"age_s": 65.0, "expires_in_s": 7135.0, "connects_left": 14},
                {"age_s": 3700.0, "expires_in_s": 3500.0, "connects_left": 13},
            ],
        },
        "rate": {
            "caller": "key:abcdef012345",
            "windows": [{"label": "rate_limit_minute", "limit": 120, "used": 3}],
            "requests": 40,
            "limited": 2,
        },
        "maintenance": {"enabled": False},
        "alerts": {"sinks": 2, "sent": 5, "suppressed": 1},
    }
    snap.update(over)
    return snap


def section_states(html: str) -> dict[str, str | None]:
    return {a["id"] or "": a.get("data-state") for t, a in parse(html).tags if t == "section"}


# ---- rendering --------------------------------------------------------------------------------------------


def test_every_section_renders_with_its_state() -> None:
    html = status_page.render(snapshot())
    states = section_states(html)
    assert tuple(states) == SECTIONS
    assert states["providers"] == "down" and states["monitor"] == "drift" and states["drift"] == "active"
    assert states["sdk"] == "drift" and states["maintenance"] == "off" and states["pool"] == "ok"
    assert '<meta http-equiv="refresh" content="15">' in html
    assert "up 2 h 5 min" in html and __version__ in html
    assert "2 of 8" in html and "27 (15 per identity)" in html  # identities and connects left this hour
    assert "3 of 120" in html and "key:abcdef012345" in html
    assert "probe in 20 s" in html and "SDK 1.0.0.1957" in html
    assert html.count('class="b drift">differs') == 2  # version and sha256
    tags = {t for t, _ in parse(html).tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}  # nothing loaded, nothing run


def test_the_chart_has_one_bar_per_cycle_coloured_by_outcome() -> None:
    html = status_page.render(snapshot())
    rects = [a for t, a in parse(html).tags if t == "rect"]
    assert [r["class"] for r in rects] == ["ok"] * 9 + ["drift"]
    xs = [float(r["x"] or 0) for r in rects]
    assert xs == sorted(xs) and float(rects[-1]["x"] or 0) + float(rects[-1]["width"] or 0) <= status_page.CHART_W
    heights = [float(r["height"] or 0) for r in rects[:9]]
    assert heights == sorted(heights) and heights[-1] == status_page.CHART_H  # the longest cycle fills the height
    assert "drift, 1.5 s" in html  # each bar's <title>


def test_hostile_text_is_escaped_everywhere() -> None:
    hostile_event = {
        "kind": "drift",
        "key": HOSTILE,
        "severity": "critical",
        "title": HOSTILE,
        "detail": {HOSTILE: HOSTILE, "field": ['"><script>x()</script>']},
        "at": NOW,
        "active": True,
    }
    snap = snapshot(
        last_drift=hostile_event,
        reasons=[HOSTILE],
        providers=[
            {"name": HOSTILE, "status": "down", "breaker": HOSTILE, "last_error": {"kind": HOSTILE, "message": HOSTILE}}
        ],
        maintenance={"enabled": True, "message": HOSTILE, "since": NOW, "by": HOSTILE, "reason": HOSTILE},
        alerts={HOSTILE: HOSTILE},
        sdk={"seen": {"version": HOSTILE}, "pinned": {"version": "1"}},
        rate={"caller": HOSTILE, "windows": []},
        version=HOSTILE,
    )
    snap["monitor"]["cycles"][-1]["checks"][0]["name"] = HOSTILE
    html = status_page.render(snap)
    doc = parse(html)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert {t for t, _ in doc.tags} <= {
        "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "span", "main", "section",
        "div", "ul", "li", "p", "table", "tr", "th", "td", "code", "b", "br", "svg", "rect", "i",
    }  # fmt: skip
    assert not any(name.startswith("on") for _, attrs in doc.tags for name in attrs)
    assert "".join(doc.text).count(HOSTILE) >= 9  # shown as text, where it was given


def test_missing_and_failed_parts_render() -> None:
    empty = snapshot(
        providers=[],
        monitor=None,
        last_drift=None,
        sdk={"seen": {}, "pinned": {}},
        pool=None,
        alerts=None,
        maintenance=None,
    )
    states = section_states(status_page.render(empty))
    assert states["monitor"] == "off" and states["drift"] == "none" and states["sdk"] == "unknown"
    idle = status_page.render(snapshot(monitor={"configured": True, "running": False, "cycles": [], "active": []}))
    assert section_states(idle)["monitor"] == "none" and "TTSIGN_MONITOR_INTERVAL unset" in idle
    failed = {
        k: {"error": "RuntimeError: boom"}
        for k in ("providers", "monitor", "last_drift", "sdk", "pool", "rate", "maintenance", "alerts")
    }
    html = status_page.render(snapshot(**failed))
    assert html.count("could not read: RuntimeError: boom") == 8


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "—"), (5, "5 s"), (119, "119 s"), (600, "10 min"), (7500, "2 h 5 min"), (200000, "2 d 7 h"), (-3, "0 s")],
)
def test_durations(seconds: Any, shown: str) -> None:
    assert status_page.duration(seconds) == shown


def test_a_full_history_page_stays_small_and_cheap() -> None:
    """96 cycles (a day at 15 min), a big drift detail: the page's size and render time are bounded."""
    cycles = [cycle(NOW - 900 * (96 - i), ("ok", "drift", "fail", "skipped")[i % 4], 1 + i % 7) for i in range(96)]
    detail = {f"field_{i}": {"native": "x" * 40, "browser": "y" * 40} for i in range(40)}
    snap = snapshot(monitor={"configured": True, "running": True, "cycles": cycles, "active": []})
    snap["last_drift"] = dict(snap["last_drift"], detail=detail)
    html = status_page.render(snap)
    assert len(html.encode()) < 40_000, len(html.encode())
    assert "16 more (see ttsign analyze diff)" in html  # a huge detail is cut
    started = time.perf_counter()
    for _ in range(20):
        status_page.render(snap)
    assert (time.perf_counter() - started) / 20 < 0.02


# ---- the snapshot, from real services -------------------------------------------------------------------


def drifted_state() -> MonitorState:
    state = MonitorState(history=5)
    for i in range(7):  # more than it keeps
        state.record(CycleResult(NOW - 60 * (7 - i), 0.5, [CheckResult("agreement", "ok")]))
    drift = Event("drift", "agreement:/api/user/detail/", "critical", "X-Bogus differs", {"field": HOSTILE}, at=NOW)
    state.record(
        CycleResult(NOW, 0.7, [CheckResult("agreement", "drift", events=[drift]), CheckResult("player", "skipped")])
    )
    state.last_drift = drift
    state.active[drift.key] = drift
    state.sdk_seen, state.sdk_pinned = {"version": "2"}, {"version": "1"}
    return state


async def test_the_snapshot_reads_the_services() -> None:
    app = create_app(make_settings())
    svc = app.state.services
    svc.monitor = drifted_state()
    snap = await status_snapshot.build(svc, caller="ip:127.0.0.1", now=NOW)
    assert [c["outcome"] for c in snap["monitor"]["cycles"]] == ["ok"] * 4 + ["drift"]
    assert snap["monitor"]["cycles"][-1]["checks"] == [
        {"name": "agreement", "outcome": "drift"},
        {"name": "player", "outcome": "skipped"},
    ]
    assert snap["last_drift"]["detail"] == {"field": HOSTILE} and snap["last_drift"]["active"] is True
    assert snap["sdk"] == {"seen": {"version": "2"}, "pinned": {"version": "1"}}
    assert snap["providers"][0]["name"] == "native" and snap["providers"][0]["status"] == "ok"
    assert snap["pool"]["status"] == "ok" and snap["pool"]["identities"] == 0 and "connects_left" in snap["pool"]
    assert snap["rate"]["caller"] == "ip:127.0.0.1"
    assert snap["overall"] == "degraded" and snap["reasons"] == ["last monitor cycle: drift (agreement)"]
    assert snap["uptime_s"] == round(NOW - svc.started_at, 1)


async def test_a_part_that_raises_does_not_take_the_page_down() -> None:
    app = create_app(make_settings())
    svc = app.state.services

    class Broken:
        def describe(self) -> Any:
            raise RuntimeError("alerter exploded with api_key=sekrit-value-123")

    svc.alerts = Broken()
    svc.monitor = drifted_state()
    svc.monitor.cycles = None  # type: ignore[assignment]
    snap = await status_snapshot.build(svc, caller="ip:127.0.0.1", now=NOW)
    assert snap["alerts"] == {"error": "RuntimeError: alerter exploded with api_key=***"}  # scrubbed
    assert snap["monitor"]["error"].startswith("TypeError")
    html = status_page.render(snap)
    assert section_states(html)["alerts"] == "unknown" and "sekrit" not in html


async def test_maintenance_on_is_the_headline() -> None:
    app = create_app(make_settings())
    svc = app.state.services

    class Flag:  # what `services.maintenance` answers (ttsign.monitor.maintenance.MaintenanceFlag.get)
        async def get(self) -> Any:
            return type(
                "S", (), {"enabled": True, "message": "upgrading the signer, back soon", "since": NOW, "by": "operator"}
            )()

    svc.maintenance = Flag()
    snap = await status_snapshot.build(svc, caller="ip:127.0.0.1", now=NOW)
    assert snap["maintenance"]["enabled"] is True and snap["overall"] == "down"
    assert snap["reasons"] == ["maintenance on: upgrading the signer, back soon"]
    svc.maintenance = None
    assert (await status_snapshot.build(svc, caller="x", now=NOW))["maintenance"] is None


# ---- who may open /status ----------------------------------------------------------------------------------


@pytest.fixture
def keyed() -> Iterator[TestClient]:
    logs.configure("info", True)
    with TestClient(create_app(make_settings(api_keys=KEY, auth_failures_per_minute=0))) as client:
        yield client
    logs.configure("warning", True)


def test_open_mode_serves_the_page() -> None:
    with TestClient(create_app(make_settings())) as client:
        r = client.get("/status")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"
    assert tuple(section_states(r.text)) == SECTIONS


def test_with_keys_the_page_needs_one(keyed: TestClient) -> None:
    r = keyed.get("/status")
    assert r.status_code == 401 and "/status?api_key=" in r.json()["message"]
    assert keyed.get("/status", headers={"X-Api-Key": KEY}).status_code == 200
    assert keyed.get("/status", params={"api_key": "wrong-key-0123456789"}).status_code == 401
    keyed.cookies.set("ttsign_key", "wrong-key-0123456789")
    assert keyed.get("/status").status_code == 401


def test_the_query_key_becomes_a_cookie_and_leaves_the_url(keyed: TestClient) -> None:
    r = keyed.get("/status", params={"api_key": KEY}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/status"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"ttsign_key={KEY};")
    for attr in ("HttpOnly", "Path=/status", "SameSite=strict", "Max-Age="):
        assert attr in cookie, cookie
    page = keyed.get("/status")  # the cookie alone
    assert page.status_code == 200 and "key:" in page.text


def test_the_page_key_opens_only_the_page(keyed: TestClient) -> None:
    """A cookie (sent by the browser on its own) or a query key must never authenticate a real route."""
    keyed.cookies.set("ttsign_key", KEY)
    assert keyed.get("/status").status_code == 200
    for path in ("/v1/providers", "/webcast/rate_limits"):
        assert keyed.get(path).status_code == 401, path
        assert keyed.get(path, params={"api_key": KEY}).status_code == 401, path
    body = {"url": "https://www.tiktok.com/api/user/detail/?aid=1988&uniqueId=x"}
    assert keyed.post("/v1/sign", json=body).status_code == 401


def test_the_page_key_never_reaches_a_log_line(keyed: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    keyed.get("/status", params={"api_key": KEY}, follow_redirects=False)  # a 303: the access log shows its query
    keyed.get("/status", params={"api_key": KEY + "x"})  # a 401 with a near-miss key
    keyed.get("/status")
    out = capsys.readouterr()
    lines = out.out + out.err
    assert '"route": "/status"' in lines and "api_key=***" in lines
    assert KEY not in lines


def test_over_https_the_cookie_is_secure() -> None:
    with TestClient(create_app(make_settings(api_keys=KEY)), base_url="https://testserver") as client:
        r = client.get("/status", params={"api_key": KEY}, follow_redirects=False)
    assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]
    with TestClient(
        create_app(make_settings(api_keys=KEY))
    ) as client:  # plain http: no Secure (it would keep the cookie off http)
        r = client.get("/status", params={"api_key": KEY}, follow_redirects=False)
    assert "Secure" not in r.headers["set-cookie"]
