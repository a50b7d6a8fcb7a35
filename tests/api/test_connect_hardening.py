"""Connect and room routes against a hostile upstream (issue 7: defects 5, 9, part of 8, and 14's Retry-After).

* one deadline per request: whatever hangs, a caller answers within `TTSIGN_UPSTREAM_TIMEOUT` x 1.5 (+ a
  small margin for the test machine), as a 504 JSON; concurrent connects share one identity fetch;
* upstream failures map the same everywhere: unreachable 502, too slow 504, TikTok's 429 503 with TikTok's
  own `Retry-After`; messages never carry the upstream's address;
* ids are validated whole (no trailing newline, NUL, CRLF, space, `/`), before any TikTok call;
* a non-ASCII `user_agent` on the connect routes is a 400 naming the field with every strategy.

Requests run through `httpx.ASGITransport` in the test's event loop, so concurrent callers are real
concurrency; TikTok is the offline fake, behind `tests.fakes.hostile.HostileProxy` where it misbehaves.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fakes.hostile import HostileProxy
from tests.fakes.tiktok import FAKE_ROOM_ID, FAKE_USER
from ttsign.config import Settings
from ttsign.server.app import create_app
from ttsign.server.routes import connect as connect_routes

T = 1.0  # TTSIGN_UPSTREAM_TIMEOUT in these tests
BUDGET = 1.5 * T
MARGIN = 0.4  # scheduling slack on a loaded machine (measured overhead: ~0.02 s); under the T/2 a second timeout adds
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"

FETCH = ("/webcast/fetch", {"room_id": FAKE_ROOM_ID})
CONNECT = (f"/webcast/rooms/{FAKE_ROOM_ID}/connect", {})
V1_ROOM = (f"/v1/rooms/{FAKE_USER}", {})
ANCHOR = (f"/webcast/anchors/{FAKE_USER}/room_id", {})


@pytest.fixture
def closed_base() -> str:
    """`http://127.0.0.1:PORT` where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def settings_for(proxy: HostileProxy, **over: Any) -> Settings:
    base: dict[str, Any] = {
        "tiktok_www": proxy.base_url,
        "ttwid_url": proxy.ttwid_url,
        "webcast_url": proxy.webcast_url,
        "ws_url": "ws://127.0.0.1:9/webcast/im/ws_proxy/ws_reuse_supplement/",
        "upstream_timeout_s": T,
        "log_json": True,
        "log_level": "critical",
    }
    base.update(over)
    return Settings(**base)


class Caller:
    """The app in this event loop; `get` returns (response, seconds taken)."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://ttsign")

    async def get(self, path: str, params: dict[str, str] | None = None) -> tuple[httpx.Response, float]:
        # The collector is off for the timed call: a full collection of the whole suite's heap takes ~0.4 s here
        # (measured with gc.callbacks) and would be counted against the server's deadline.
        gc.collect()
        gc.disable()
        try:
            started = time.monotonic()
            r = await self.http.get(path, params=params or {}, timeout=30)
            return r, time.monotonic() - started
        finally:
            gc.enable()

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.app.state.services.upstream.close()


@pytest.fixture
async def make_caller() -> AsyncIterator[Any]:
    callers: list[Caller] = []

    def factory(settings: Settings) -> Caller:
        callers.append(Caller(settings))
        return callers[-1]

    yield factory
    for c in callers:
        await c.aclose()


def json_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["code"] == status and isinstance(body["message"], str) and len(body["message"]) >= 19
    return body


def hits(proxy: HostileProxy, prefix: str) -> int:
    return sum(1 for _method, path, _action in proxy.hits if path.startswith(prefix))


# ---- defect 5: concurrent connects share one identity fetch, bounded -----------------------------


async def test_concurrent_connects_with_hanging_ttwid_endpoints_all_answer_within_the_budget(
    proxy: HostileProxy, make_caller: Any
) -> None:
    """Issue 7 defect 5: 5 connects while register and /live hang answered after 6/12/18/24/30 s (T = 3 s)."""
    proxy.add("/ttwid/*", "hang")
    proxy.add("/live", "hang")
    caller = make_caller(settings_for(proxy))
    results = await asyncio.gather(*(caller.get(*FETCH) for _ in range(5)))
    for r, _ in results:
        body = json_error(r, 504)
        assert "did not answer within" in body["message"]
    waits = sorted(round(t, 2) for _, t in results)
    assert waits[-1] < BUDGET + MARGIN, waits  # before: 2T, 4T, 6T, 8T, 10T
    assert hits(proxy, "/ttwid/") == 1  # one fetch shared by all five (before: five, in a row)


async def test_after_a_failed_fetch_the_next_connect_starts_afresh(proxy: HostileProxy, make_caller: Any) -> None:
    rules = [proxy.add("/ttwid/*", "hang"), proxy.add("/live", "hang")]
    caller = make_caller(settings_for(proxy))
    json_error((await caller.get(*FETCH))[0], 504)
    await asyncio.sleep(0.3)  # the shared fetch ends at its own bound (a caller arriving before joins it)
    proxy.clear()  # TikTok is back
    r, _ = await caller.get(*FETCH)
    assert r.status_code == 200 and r.headers["X-Set-TT-Cookie"].startswith("ttwid=")
    assert rules[0].used == 1


# ---- the caller's time budget: one deadline per request -----------------------------------------

SLOW = 0.9 * T  # answers just inside one timeout: chains of these used to add up to 2-3 x T

CHAINS = {
    "relay: register hangs, /live answers, im/fetch hangs": (
        {"connect_strategy": "relay"},
        [("/ttwid/*", "hang", {}), ("/webcast/im/fetch/*", "hang", {})],
        FETCH,
    ),
    "relay: register hangs, /live slow, im/fetch hangs": (
        {"connect_strategy": "relay"},
        [("/ttwid/*", "hang", {}), ("/live", "delay", {"delay_s": SLOW}), ("/webcast/im/fetch/*", "hang", {})],
        CONNECT,
    ),
    "auto: register hangs, /live hangs": (
        {"connect_strategy": "auto"},
        [("/ttwid/*", "hang", {}), ("/live", "hang", {})],
        CONNECT,
    ),
    "direct: register hangs, /live slow": (
        {},
        [("/ttwid/*", "hang", {}), ("/live", "delay", {"delay_s": SLOW})],
        FETCH,
    ),
    "v1 rooms: api-live hangs, SIGI page slow": (
        {},
        [("/api-live/*", "hang", {}), ("/@*", "delay", {"delay_s": SLOW})],
        V1_ROOM,
    ),
    "v1 rooms: api-live hangs, SIGI page hangs": (
        {},
        [("/api-live/*", "hang", {}), ("/@*", "hang", {})],
        V1_ROOM,
    ),
    "anchors: api-live hangs, SIGI page hangs": (
        {},
        [("/api-live/*", "hang", {}), ("/@*", "hang", {})],
        ANCHOR,
    ),
}


@pytest.mark.parametrize("case", list(CHAINS))
async def test_a_chain_of_slow_upstream_calls_ends_at_the_deadline_with_504(
    proxy: HostileProxy, make_caller: Any, case: str
) -> None:
    over, rules, (path, params) = CHAINS[case]
    for pattern, action, kw in rules:
        proxy.add(pattern, action, **kw)
    caller = make_caller(settings_for(proxy, **over))
    r, took = await caller.get(path, params)
    body = json_error(r, 504)
    assert f"within {BUDGET:g} s" in body["message"]
    assert took < BUDGET + MARGIN, took


async def test_auto_falls_back_to_direct_within_the_deadline_when_im_fetch_is_slow(
    proxy: HostileProxy, make_caller: Any
) -> None:
    """Identity takes most of a timeout, im/fetch then hangs: auto still answers (direct) before the deadline."""
    proxy.add("/ttwid/*", "delay", delay_s=0.7 * T)
    proxy.add("/webcast/im/fetch/*", "hang")
    caller = make_caller(settings_for(proxy, connect_strategy="auto"))
    r, took = await caller.get(*FETCH)
    assert r.status_code == 200, r.text
    assert r.headers["X-Connect-Strategy"] == "direct"
    assert took < BUDGET + MARGIN


async def test_v1_room_answers_without_room_info_when_room_info_hangs(proxy: HostileProxy, make_caller: Any) -> None:
    """The lookup answered; room/info is extra detail: before, its hang (or any upstream error) was a 500."""
    proxy.add("/webcast/room/info/*", "hang")
    caller = make_caller(settings_for(proxy))
    r, took = await caller.get(*V1_ROOM)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["room_id"] == FAKE_ROOM_ID
    assert took < BUDGET + MARGIN


async def test_v1_room_answers_without_room_info_when_room_info_is_unreachable(
    proxy: HostileProxy, make_caller: Any, closed_base: str
) -> None:
    caller = make_caller(settings_for(proxy, webcast_url=closed_base + "/webcast"))
    r, _ = await caller.get(*V1_ROOM)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["is_live"] is True


# ---- statuses: unreachable 502, timeout 504, TikTok's 429 503 with its Retry-After -------------

ROUTES = {"fetch": FETCH, "connect": CONNECT, "v1-room": V1_ROOM, "anchor": ANCHOR}
RATE_LIMITED = {
    # route, strategy, the upstream paths answering 429
    "fetch-direct": (FETCH, "direct", ["/ttwid/*", "/live"]),
    "connect-relay": (CONNECT, "relay", ["/webcast/im/fetch/*"]),
    "fetch-relay-identity": (FETCH, "relay", ["/ttwid/*", "/live"]),
    "v1-room": (V1_ROOM, "direct", ["/api-live/*", "/@*"]),
    "anchor": (ANCHOR, "direct", ["/api-live/*", "/@*"]),
}


@pytest.mark.parametrize("case", list(RATE_LIMITED))
async def test_tiktoks_429_is_503_with_tiktoks_retry_after(proxy: HostileProxy, make_caller: Any, case: str) -> None:
    (path, params), strategy, patterns = RATE_LIMITED[case]
    for pattern in patterns:
        proxy.add(pattern, "status", status=429, headers={"Retry-After": "42"})
    caller = make_caller(settings_for(proxy, connect_strategy=strategy))
    r, _ = await caller.get(path, params)
    body = json_error(r, 503)
    assert r.headers["Retry-After"] == "42"  # before: "1", or a 502, or a 200 "offline"
    assert "rate limit" in body["message"]


async def test_an_absurd_upstream_retry_after_is_capped_at_an_hour(proxy: HostileProxy, make_caller: Any) -> None:
    proxy.add("/webcast/im/fetch/*", "status", status=429, headers={"Retry-After": "99999999999"})
    caller = make_caller(settings_for(proxy, connect_strategy="relay"))
    r, _ = await caller.get(*FETCH)
    json_error(r, 503)
    assert r.headers["Retry-After"] == "3600"


async def test_a_429_without_retry_after_still_says_when_to_retry(proxy: HostileProxy, make_caller: Any) -> None:
    proxy.add("/webcast/im/fetch/*", "status", status=429)
    caller = make_caller(settings_for(proxy, connect_strategy="relay"))
    r, _ = await caller.get(*FETCH)
    json_error(r, 503)
    assert int(r.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("route", list(ROUTES))
async def test_unreachable_tiktok_is_502_and_never_names_its_address(
    proxy: HostileProxy, make_caller: Any, closed_base: str, route: str
) -> None:
    dead = {"tiktok_www": closed_base, "ttwid_url": closed_base + "/ttwid/", "webcast_url": closed_base + "/webcast"}
    caller = make_caller(settings_for(proxy, **dead))
    r, _ = await caller.get(*ROUTES[route])
    body = json_error(r, 502)
    port = closed_base.rsplit(":", 1)[1]
    assert "127.0.0.1" not in r.text and port not in body["message"], body
    assert "TikTok" in body["message"]


@pytest.mark.parametrize("strategy", ["relay", "auto"])
async def test_unreachable_im_fetch_never_names_its_address(
    proxy: HostileProxy, make_caller: Any, closed_base: str, strategy: str
) -> None:
    """The identity comes from TikTok, im/fetch's host is down (relay: 502; auto: falls back to direct)."""
    caller = make_caller(settings_for(proxy, connect_strategy=strategy, webcast_url=closed_base + "/webcast"))
    r, _ = await caller.get(*FETCH)
    if strategy == "relay":
        body = json_error(r, 502)
        assert "127.0.0.1" not in r.text and closed_base.rsplit(":", 1)[1] not in body["message"], body
    else:
        assert r.status_code == 200 and r.headers["X-Connect-Strategy"] == "direct"


@pytest.mark.parametrize("route", ["fetch", "v1-room"])
async def test_a_single_upstream_timeout_is_504(proxy: HostileProxy, make_caller: Any, route: str) -> None:
    proxy.add("*", "hang")
    caller = make_caller(settings_for(proxy))
    r, took = await caller.get(*ROUTES[route])
    json_error(r, 504)
    assert took < BUDGET + MARGIN


# ---- defect 9: ids validated whole, before any TikTok call ---------------------------------------

BAD_ROOM_IDS = [
    f"{FAKE_ROOM_ID}\n",  # issue 7 defect 9: `$` matched before the trailing newline
    f"{FAKE_ROOM_ID}\r\n",
    f"{FAKE_ROOM_ID}\x00",
    f" {FAKE_ROOM_ID}",
    f"{FAKE_ROOM_ID} ",
    f"+{FAKE_ROOM_ID}",
    "１２３",  # fullwidth digits: `\d` would take them
    "٣٤٥",  # Arabic-Indic digits
    "1" * 26,
    "12/34",
    "../../etc/passwd",
    "",
]


@pytest.mark.parametrize("room_id", BAD_ROOM_IDS, ids=repr)
async def test_bad_room_id_on_webcast_fetch_is_400(proxy: HostileProxy, make_caller: Any, room_id: str) -> None:
    caller = make_caller(settings_for(proxy))
    r, _ = await caller.get("/webcast/fetch", {"room_id": room_id})
    assert "room_id" in json_error(r, 400)["message"]
    assert proxy.hits == []  # refused before any TikTok call


@pytest.mark.parametrize(
    "raw_path",
    [
        f"/webcast/rooms/{FAKE_ROOM_ID}%0A/connect",
        f"/webcast/rooms/{FAKE_ROOM_ID}%0D%0A/connect",
        f"/webcast/rooms/{FAKE_ROOM_ID}%00/connect",
        f"/webcast/rooms/%20{FAKE_ROOM_ID}/connect",
        "/webcast/rooms/12%2F34/connect",
        "/webcast/rooms/..%2F..%2Fetc%2Fpasswd/connect",
        "/webcast/rooms/%EF%BC%91%EF%BC%92/connect",
    ],
)
async def test_bad_room_id_on_rooms_connect_is_400(proxy: HostileProxy, make_caller: Any, raw_path: str) -> None:
    caller = make_caller(settings_for(proxy))
    r, _ = await caller.get(raw_path)
    assert "room_id" in json_error(r, 400)["message"]
    assert proxy.hits == []


BAD_UNIQUE_IDS = [
    "fakeuser%0A",
    "fakeuser%0D%0A",
    "fake%00user",
    "%20fakeuser",
    "fakeuser%20",
    "fake%20user",
    "fake%2Fuser",
    "..%2F..%2Fetc%2Fpasswd",
    "%2E%2E",
    "a" * 25,
    "fake%C3%BCser",
    "%40%40fakeuser",
    "fakeuser%3Flang%3Den",
]


@pytest.mark.parametrize("raw", BAD_UNIQUE_IDS)
@pytest.mark.parametrize("route", ["/v1/rooms/{}", "/webcast/anchors/{}/room_id"])
async def test_bad_unique_id_on_room_routes_is_400(proxy: HostileProxy, make_caller: Any, route: str, raw: str) -> None:
    caller = make_caller(settings_for(proxy))
    r, _ = await caller.get(route.format(raw))
    body = json_error(r, 400)
    assert "unique_id" in body["message"] and body["reason"] == "bad_input"
    assert proxy.hits == []


@pytest.mark.parametrize("raw", ["fakeuser", "%40fakeuser", "fake.user_1"])
async def test_good_unique_ids_reach_tiktok(proxy: HostileProxy, make_caller: Any, raw: str) -> None:
    caller = make_caller(settings_for(proxy))
    r, _ = await caller.get(f"/v1/rooms/{raw}")
    assert r.status_code in (200, 404), r.text  # fake.user_1 is unknown to the fake: 404, not 400
    assert hits(proxy, "/api-live/") == 1


# ---- defect 8 (part): non-ASCII user_agent on the connect routes ---------------------------------

NON_ASCII_UAS = ["Mozilla/5.0 (Windows NT 10.0) Chrome/156.0.0.0 Safari/537.36 é", "Mozilla/5.0 ☃", "Ünïcode-Agent"]


@pytest.mark.parametrize("ua", NON_ASCII_UAS)
@pytest.mark.parametrize("strategy", ["relay", "auto", "direct"])
@pytest.mark.parametrize("route", ["fetch", "connect"])
async def test_non_ascii_user_agent_on_connect_routes_is_400(
    proxy: HostileProxy, make_caller: Any, route: str, strategy: str, ua: str
) -> None:
    caller = make_caller(settings_for(proxy, connect_strategy=strategy))
    path, params = ROUTES[route]
    r, _ = await caller.get(path, {**params, "user_agent": ua})
    assert "user_agent" in json_error(r, 400)["message"].lower().replace("user-agent", "user_agent")


@pytest.mark.parametrize("strategy", ["relay", "auto"])
async def test_connect_route_checks_ascii_itself(
    proxy: HostileProxy, make_caller: Any, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    """Even if the shared user-agent check let non-ASCII through, the connect path answers 400, never 500."""
    monkeypatch.setattr(connect_routes, "check_user_agent", lambda ua: ua or None)
    caller = make_caller(settings_for(proxy, connect_strategy=strategy))
    r, _ = await caller.get(*FETCH[:1], {**FETCH[1], "user_agent": NON_ASCII_UAS[0]})
    assert "user_agent" in json_error(r, 400)["message"]
    assert hits(proxy, "/webcast/im/fetch/") == 0


async def test_ascii_user_agent_still_connects_with_relay(proxy: HostileProxy, make_caller: Any) -> None:
    caller = make_caller(settings_for(proxy, connect_strategy="relay"))
    r, _ = await caller.get(FETCH[0], {**FETCH[1], "user_agent": UA})
    assert r.status_code == 200, r.text
    assert r.headers["X-Connect-Strategy"] == "relay"
