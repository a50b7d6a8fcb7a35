"""The caller's own session (issue 10): used for that caller's TikTok calls only, never logged, never shared.

A session comes as `x-cookie-header` (Euler's SDKs) or `session_id` + `tt_target_idc` (TikTokLive). The fake
TikTok records every request's cookies, so each test reads exactly what reached "TikTok" on whose behalf.
Requests run through `httpx.ASGITransport` in the test's event loop, so two callers at once are real
concurrency on one app (one identity pool).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fakes.tiktok import FAKE_ROOM_ID, FAKE_USER, OFFLINE_USER, FakeTikTok
from ttsign.config import Settings
from ttsign.server import logs
from ttsign.server.app import create_app

SESSION = "5e55104a11ce0ffee0123456789abcdef"  # 32 hex chars, as TikTok's sessionid
GUARD = "5e55104a11ce%7C1764590000%7C15552000%7CMon%2C+01-Jun-2027"
IDC = "useast2a"
COOKIE_HEADER = f"sessionid={SESSION}; sid_guard={GUARD}; tt-target-idc={IDC}; ttwid=callers-own-ttwid; msToken=abc"
SECRETS = (SESSION, GUARD)
CONNECT = f"/webcast/rooms/{FAKE_ROOM_ID}/connect"


def settings_for(fake: FakeTikTok, **over: Any) -> Settings:
    base: dict[str, Any] = {
        "tiktok_www": fake.base_url,
        "ttwid_url": fake.ttwid_url,
        "webcast_url": fake.webcast_url,
        "ws_url": fake.ws_url,
        "upstream_timeout_s": 3.0,
        "log_json": True,
        "log_level": "warning",
    }
    base.update(over)
    return Settings(**base)


@pytest.fixture
async def make_app() -> AsyncIterator[Any]:
    made: list[tuple[Any, httpx.AsyncClient]] = []

    def factory(settings: Settings) -> tuple[Any, httpx.AsyncClient]:
        app = create_app(settings)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ttsign", timeout=30)
        made.append((app, http))
        return app, http

    yield factory
    for app, http in made:
        await http.aclose()
        await app.state.services.upstream.close()


def requests_to(fake: FakeTikTok, suffix: str) -> list[dict[str, Any]]:
    return [r for r in fake.state()["requests"] if r["path"].endswith(suffix)]


def holds_secret(entry: dict[str, Any]) -> bool:
    text = json.dumps(entry)
    return any(s in text for s in SECRETS)


def tt_cookie(r: httpx.Response) -> dict[str, str]:
    return dict(p.split("=", 1) for p in r.headers["x-set-tt-cookie"].split("; "))


def r_first(r: httpx.Response) -> str:
    """The first cookie's name in `X-Set-TT-Cookie` (the connector keeps only that one)."""
    return r.headers["x-set-tt-cookie"].split("=", 1)[0]


def pool_cookies(app: Any) -> list[dict[str, str]]:
    return [dict(i.cookies) for i in app.state.services.upstream.pool._items]


# ---- the session reaches TikTok on its caller's request only --------------------------------------


async def test_a_session_reaches_the_fake_on_that_callers_request_only_even_concurrently(fake, make_app):
    app, http = make_app(settings_for(fake, connect_strategy="relay"))
    fake.reset()
    with_session, anonymous = await asyncio.gather(
        http.get(CONNECT, headers={"x-cookie-header": COOKIE_HEADER}),
        http.get(CONNECT),
    )
    assert with_session.status_code == 200 and anonymous.status_code == 200, (with_session.text, anonymous.text)
    fetches = requests_to(fake, "/im/fetch/")
    assert len(fetches) == 2
    mine = [f for f in fetches if f["cookies"].get("sessionid") == SESSION]
    other = [f for f in fetches if f not in mine]
    assert len(mine) == 1 and len(other) == 1
    # the session caller's im/fetch: its session cookies (the kept ones), none of the others it sent
    assert mine[0]["cookies"]["sid_guard"] == GUARD and mine[0]["cookies"]["tt-target-idc"] == IDC
    assert mine[0]["cookies"]["ttwid"] != "callers-own-ttwid" and "msToken" not in mine[0]["cookies"]
    # ... on a ttwid of its own: not the anonymous caller's, not any pooled identity's
    assert not holds_secret(other[0])
    private_ttwid = mine[0]["cookies"]["ttwid"]
    assert private_ttwid != other[0]["cookies"]["ttwid"]
    pooled = pool_cookies(app)
    assert pooled and all(c["ttwid"] != private_ttwid for c in pooled)
    assert not any(s in json.dumps(pooled) for s in SECRETS)
    # the answers: the session is never echoed; the session caller got its private ttwid first
    assert not any(s in with_session.headers["x-set-tt-cookie"] for s in SECRETS)
    assert r_first(with_session) == "ttwid" and tt_cookie(with_session)["ttwid"] == private_ttwid
    # the next anonymous request carries nothing of it either
    fake.reset()
    nxt = await http.get(CONNECT)
    assert nxt.status_code == 200
    assert [f for f in requests_to(fake, "/im/fetch/") if holds_secret(f)] == []
    assert not any(holds_secret(r) for r in fake.state()["requests"])


async def test_the_session_caller_never_takes_or_refreshes_a_pooled_identity(fake, make_app):
    app, http = make_app(settings_for(fake, connect_strategy="relay"))
    assert (await http.get(CONNECT)).status_code == 200
    before = pool_cookies(app)
    for _ in range(3):
        assert (await http.get(CONNECT, headers={"x-cookie-header": COOKIE_HEADER})).status_code == 200
    assert pool_cookies(app) == before  # same identities, same cookies
    assert all(len(i.connects) == 1 for i in app.state.services.upstream.pool._items)  # none paced by a session
    registers = requests_to(fake, "/ttwid/union/register/")
    assert len(registers) == 4 and not any(holds_secret(r) for r in registers)  # 1 pooled + 3 private, anonymous


async def test_query_session_as_tiktoklive_sends_it(fake, make_app):
    _, http = make_app(settings_for(fake, connect_strategy="relay"))
    r = await http.get("/webcast/fetch", params={"room_id": FAKE_ROOM_ID, "session_id": SESSION, "tt_target_idc": IDC})
    assert r.status_code == 200, r.text
    (fetch,) = requests_to(fake, "/im/fetch/")
    cookies = fetch["cookies"]
    assert cookies["sessionid"] == cookies["sessionid_ss"] == cookies["sid_tt"] == SESSION
    assert cookies["tt-target-idc"] == IDC


async def test_tt_target_idc_alone_is_no_session(fake, make_app):
    app, http = make_app(settings_for(fake, connect_strategy="relay"))
    r = await http.get("/webcast/fetch", params={"room_id": FAKE_ROOM_ID, "tt_target_idc": "useast1a"})
    assert r.status_code == 200, r.text
    (fetch,) = requests_to(fake, "/im/fetch/")
    assert "tt-target-idc" not in fetch["cookies"] and "sessionid" not in fetch["cookies"]
    assert app.state.services.upstream.pool.size() == 1  # the anonymous path: a pooled identity


async def test_direct_strategy_gives_a_session_caller_a_ttwid_of_its_own(fake, make_app):
    app, http = make_app(settings_for(fake, connect_strategy="direct"))
    anon = await http.get(CONNECT)
    mine = await http.get(CONNECT, headers={"x-cookie-header": COOKIE_HEADER})
    assert anon.status_code == 200 and mine.status_code == 200
    assert tt_cookie(mine)["ttwid"] != tt_cookie(anon)["ttwid"]
    assert app.state.services.upstream.pool.size() == 1
    assert not any(s in mine.headers["x-set-tt-cookie"] for s in SECRETS)


async def test_auto_falls_back_to_direct_on_the_private_identity(fake, make_app):
    app, http = make_app(settings_for(fake, connect_strategy="auto"))
    fake.configure(fetch_empty=True)
    r = await http.get(CONNECT, headers={"x-cookie-header": COOKIE_HEADER})
    assert r.status_code == 200 and r.headers["x-connect-strategy"] == "direct"
    (fetch,) = requests_to(fake, "/im/fetch/")
    assert fetch["cookies"]["sessionid"] == SESSION
    assert tt_cookie(r)["ttwid"] == fetch["cookies"]["ttwid"] and app.state.services.upstream.pool.size() == 0


async def test_room_lookups_carry_the_session_of_their_caller_only(fake, make_app):
    _, http = make_app(settings_for(fake, connect_strategy="relay"))
    r = await http.get(f"/webcast/anchors/{FAKE_USER}/connect", headers={"x-cookie-header": COOKIE_HEADER})
    assert r.status_code == 200 and r.headers["x-room-id"] == FAKE_ROOM_ID, r.text
    (lookup,) = requests_to(fake, "/api-live/user/room/")
    assert lookup["cookies"]["sessionid"] == SESSION and lookup["query"]["user_is_login"] == "true"
    assert requests_to(fake, "/im/fetch/")[0]["cookies"]["sessionid"] == SESSION
    fake.reset()
    for path in (f"/v1/rooms/{FAKE_USER}", f"/webcast/anchors/{FAKE_USER}/room_id"):
        assert (await http.get(path)).status_code == 200
    assert requests_to(fake, "/api-live/user/room/") and not any(holds_secret(x) for x in fake.state()["requests"])
    fake.reset()
    r = await http.get(f"/v1/rooms/{FAKE_USER}", params={"session_id": SESSION})
    assert r.status_code == 200
    assert all(x["cookies"].get("sessionid") == SESSION for x in fake.state()["requests"])


# ---- never logged --------------------------------------------------------------------------------


async def test_a_session_appears_in_no_log_line_at_debug(fake, make_app, capsys):
    settings = settings_for(fake, connect_strategy="relay", log_level="debug")
    logs.configure("debug", True)
    _, http = make_app(settings)
    capsys.readouterr()
    q = {"session_id": SESSION, "tt_target_idc": IDC}
    assert (await http.get(CONNECT, headers={"x-cookie-header": COOKIE_HEADER})).status_code == 200
    assert (await http.get(CONNECT, params=q)).status_code == 200
    assert (await http.get(f"/v1/rooms/{FAKE_USER}", params=q)).status_code == 200
    assert (await http.get(CONNECT, params={**q, "cursor": "x" * 600})).status_code == 400  # an error line too
    out = capsys.readouterr()
    text = out.out + out.err
    assert '"event": "upstream"' in text and "/webcast/rooms/" in text  # debug lines were written
    assert not any(s in text for s in SECRETS)
    logs.configure("warning", True)


# ---- hostile or refused session input: a 4xx JSON, and no TikTok call -----------------------------

HOSTILE_HEADERS = {
    "huge": "sessionid=" + "a" * 5000,
    "huge-value": "sessionid=" + "a" * 600,
    "no equals": "sessionid",
    "space in name": "session id=abc123",
    "quoted value": 'sessionid="abc123"',
    "comma": "sessionid=abc,def",
    "backslash": "sessionid=abc\\def",
    "twice": "sessionid=abc123; sessionid=def456",
    "no login cookie": "tt-target-idc=useast1a; ttwid=abc123",
    "bad idc": "sessionid=abc123; tt-target-idc=US EAST",
    "only separators": ";;;",
}
HOSTILE_QUERIES = {
    "crlf": {"session_id": "abc\r\nSet-Cookie: x=1"},
    "lf": {"session_id": "abc\n"},
    "nul": {"session_id": "abc\x00def"},
    "space": {"session_id": "abc def"},
    "semicolon": {"session_id": "abc; ttwid=mine"},
    "non-ascii": {"session_id": "abcé"},
    "huge": {"session_id": "a" * 600},
    "bad idc": {"session_id": "abc123", "tt_target_idc": "useast1a\r\n"},
}


def assert_json_400(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["code"] == 400 and len(body["message"]) >= 19
    return body


@pytest.mark.parametrize("path", [CONNECT, f"/webcast/anchors/{FAKE_USER}/connect", f"/v1/rooms/{FAKE_USER}"])
@pytest.mark.parametrize("case", sorted(HOSTILE_HEADERS))
async def test_hostile_cookie_headers_are_400_json_before_any_tiktok_call(fake, make_app, path, case):
    _, http = make_app(settings_for(fake))
    body = assert_json_400(await http.get(path, headers={"x-cookie-header": HOSTILE_HEADERS[case]}))
    assert body["reason"] == "bad_session"
    assert fake.state()["requests"] == []
    assert HOSTILE_HEADERS[case][:40] not in body["message"]  # never echoed


@pytest.mark.parametrize("case", sorted(HOSTILE_QUERIES))
async def test_hostile_session_queries_are_400_json_before_any_tiktok_call(fake, make_app, case):
    _, http = make_app(settings_for(fake))
    params = {"room_id": FAKE_ROOM_ID, **HOSTILE_QUERIES[case]}
    assert_json_400(await http.get("/webcast/fetch", params=params))
    assert fake.state()["requests"] == []


async def test_anchor_room_id_answers_a_bad_session_in_its_own_shape(fake, make_app):
    _, http = make_app(settings_for(fake))
    r = await http.get(f"/webcast/anchors/{FAKE_USER}/room_id", headers={"x-cookie-header": "sessionid"})
    assert r.status_code == 400 and r.json()["ok"] is False and r.json()["reason"] == "bad_session"


async def test_an_oauth_token_is_refused_with_a_clear_400(fake, make_app):
    _, http = make_app(settings_for(fake))
    body = assert_json_400(await http.get(CONNECT, headers={"x-oauth-token": "euler-oauth-token-123"}))
    assert body["reason"] == "oauth_unsupported" and "x-cookie-header" in body["message"]
    assert fake.state()["requests"] == []


async def test_a_session_header_sent_twice_is_refused_and_the_header_wins_over_the_query(fake, make_app):
    _, http = make_app(settings_for(fake, connect_strategy="relay"))
    headers = [("x-cookie-header", COOKIE_HEADER), ("x-cookie-header", "sessionid=other1")]
    assert_json_400(await http.get(CONNECT, headers=headers))
    assert fake.state()["requests"] == []
    r = await http.get(CONNECT, params={"session_id": "querysession1"}, headers={"x-cookie-header": COOKIE_HEADER})
    assert r.status_code == 200
    (fetch,) = requests_to(fake, "/im/fetch/")
    assert fetch["cookies"]["sessionid"] == SESSION and "querysession1" not in json.dumps(fetch)


# ---- connect by username -------------------------------------------------------------------------


async def test_anchor_connect_answers_like_room_connect_and_404s_an_offline_user(fake, make_app):
    _, http = make_app(settings_for(fake))
    r = await http.get(f"/webcast/anchors/@{FAKE_USER}/connect", params={"client": "ttlive-other"})
    assert r.status_code == 200 and r.headers["x-room-id"] == FAKE_ROOM_ID and r.content
    assert r_first(r) == "ttwid"
    off = await http.get(f"/webcast/anchors/{OFFLINE_USER}/connect")
    assert off.status_code == 404 and off.json()["reason"] == "offline"
    assert (await http.get("/webcast/anchors/nosuchuser999/connect")).status_code == 404
    assert_json_400(await http.get("/webcast/anchors/bad%2Fname/connect"))
    assert_json_400(await http.get("/webcast/anchors/bad!name/connect"))


# ---- rate limits in Euler's shape ----------------------------------------------------------------


async def test_account_rate_limits_in_eulers_shape(fake, make_app):
    _, http = make_app(settings_for(fake, rate_limit_minute=10, rate_limit_hour=100, rate_limit_day=0))
    first = (await http.get("/accounts/me/rate_limits")).json()
    assert first["code"] == 200 and "day" not in first
    assert first["minute"] == {"max": 10, "remaining": 10, "reset_at": None}
    assert (await http.get(CONNECT)).status_code == 200
    body = (await http.get("/accounts/me/rate_limits", params={"type": "WEBCAST"})).json()
    assert body["minute"]["remaining"] == 9 and body["hour"]["remaining"] == 99  # reading them used none
    assert body["minute"]["reset_at"].endswith("Z") and body["minute"]["reset_at"][:2] == "20"
    assert_json_400(await http.get("/accounts/me/rate_limits", params={"type": "BOGUS"}))
