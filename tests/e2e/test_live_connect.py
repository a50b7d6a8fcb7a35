"""End to end: the unmodified TikTokLive 7.0.1 and tiktok-live-connector 2.5.0 connect through ttsign to
the offline TikTok double and receive chat, gift and like events (live-connect.md §5)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from TikTokLive import TikTokLiveClient
from TikTokLive.client.errors import SignAPIError, SignatureRateLimitError, WebcastBlockedError
from TikTokLive.client.web.web_settings import WebDefaults
from TikTokLive.events import CommentEvent, ConnectEvent, GiftEvent, LikeEvent

from tests.e2e.conftest import run_node
from tests.fakes.tiktok import CHAT_TEXTS, FAKE_ROOM_ID, FAKE_USER, MSG_LOG_IDS, FakeTikTok

pytestmark = pytest.mark.e2e


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    with FakeTikTok() as f:
        yield f


def upstream_settings(fake: FakeTikTok, **extra: Any) -> dict[str, Any]:
    return {
        "tiktok_www": fake.base_url,
        "ttwid_url": fake.ttwid_url,
        "webcast_url": fake.webcast_url,
        "ws_url": fake.ws_url,
        **extra,
    }


@pytest.fixture
def point_tiktoklive(monkeypatch: pytest.MonkeyPatch, fake: FakeTikTok):
    """Redirect TikTokLive's own TikTok calls to the fake and its sign server to `url`."""

    def apply(sign_url: str, api_key: str | None = None) -> None:
        monkeypatch.setattr(WebDefaults, "tiktok_app_url", fake.base_url)
        monkeypatch.setattr(WebDefaults, "tiktok_webcast_url", fake.webcast_url)
        monkeypatch.setenv("SIGN_API_URL", sign_url)
        if api_key:
            monkeypatch.setenv("SIGN_API_KEY", api_key)
        else:
            monkeypatch.delenv("SIGN_API_KEY", raising=False)

    return apply


async def run_tiktoklive(room_id: int | None, timeout: float = 20) -> dict[str, list[Any]]:
    client = TikTokLiveClient(unique_id="@" + FAKE_USER)
    got: dict[str, list[Any]] = {"connect": [], "comment": [], "gift": [], "like": []}
    done = asyncio.Event()

    def check() -> None:
        if len(got["comment"]) >= 2 and got["gift"] and got["like"]:
            done.set()

    @client.on(ConnectEvent)
    async def _c(e: ConnectEvent) -> None:
        got["connect"].append(e.room_id)

    @client.on(CommentEvent)
    async def _m(e: CommentEvent) -> None:
        got["comment"].append(e.comment)
        check()

    @client.on(GiftEvent)
    async def _g(e: GiftEvent) -> None:
        got["gift"].append(e.gift.name)
        check()

    @client.on(LikeEvent)
    async def _l(e: LikeEvent) -> None:
        got["like"].append(e.count)
        check()

    try:
        task = await client.start(room_id=room_id, fetch_live_check=room_id is None)
        waiter = asyncio.ensure_future(done.wait())
        try:
            finished, _ = await asyncio.wait({waiter, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if task in finished:
                task.result()  # the client's own error (e.g. WebcastBlockedError) surfaces here
            if waiter not in finished:
                raise AssertionError(f"events did not arrive in {timeout}s: {got}")
            await asyncio.sleep(0.3)  # let the acks of the last frames go out
        finally:
            waiter.cancel()
            if not task.done():
                await client.disconnect()
                task.cancel()
    finally:
        await client.web.close()
    return got


def assert_fake_saw_a_proper_client(fake: FakeTikTok, *, heartbeat: bool = True) -> None:
    """The socket carried the ttwid and the direct-socket params; enter-room, acks (and hb) arrived.

    The connector sends its first heartbeat only after 10 s, so its tests skip the hb check.
    """
    sockets = fake.state()["sockets"]
    accepted = [s for s in sockets if s.get("accepted")]
    assert accepted, sockets
    s = accepted[-1]
    assert "ttwid=" in s["cookie_header"] and s["ttwid_issued"]
    assert s["query"].get("ws_direct") == "1" and s["query"].get("heartbeat_duration") == "10000"
    kinds = s["payload_types"]
    assert "im_enter_room" in kinds and ("hb" in kinds or not heartbeat), kinds
    acked = {a["log_id"] for a in s["acks"]}
    assert acked >= set(MSG_LOG_IDS[:2]), s["acks"]


@pytest.mark.parametrize("lookup", [False, True], ids=["room_id", "own-lookup"])
async def test_tiktoklive_receives_events(fake, ttsign_server, point_tiktoklive, lookup):
    srv = ttsign_server(**upstream_settings(fake))
    point_tiktoklive(srv.url)
    got = await run_tiktoklive(None if lookup else int(FAKE_ROOM_ID))
    assert got["connect"] == [int(FAKE_ROOM_ID)]
    assert got["comment"][:2] == list(CHAT_TEXTS)
    assert got["gift"] and got["like"]
    assert_fake_saw_a_proper_client(fake)


async def test_tiktoklive_with_api_key_and_relay_strategy(fake, ttsign_server, point_tiktoklive):
    srv = ttsign_server(**upstream_settings(fake, connect_strategy="relay", api_keys="k1"))
    point_tiktoklive(srv.url, "k1")
    got = await run_tiktoklive(int(FAKE_ROOM_ID))
    assert got["comment"] and got["gift"]
    fetches = [r for r in fake.state()["requests"] if r["path"].endswith("/im/fetch/")]
    assert fetches and all("X-Gnarly" not in f["query"] for f in fetches)
    assert all(f.get("status") == 200 for f in fetches)


async def test_tiktoklive_socket_refused_is_blocked_error(fake, ttsign_server, point_tiktoklive):
    srv = ttsign_server(**upstream_settings(fake))
    point_tiktoklive(srv.url)
    fake.configure(ws_refuse="DEVICE_BLOCKED")
    with pytest.raises(WebcastBlockedError):
        await run_tiktoklive(int(FAKE_ROOM_ID), timeout=5)


async def test_tiktoklive_upstream_down_is_sign_api_error(fake, ttsign_server, point_tiktoklive):
    srv = ttsign_server(**upstream_settings(fake))
    point_tiktoklive(srv.url)
    fake.configure(down=503)
    with pytest.raises(SignAPIError) as exc:
        await run_tiktoklive(int(FAKE_ROOM_ID), timeout=5)
    assert "502" in str(exc.value) or "SIGN_NOT_200" in str(exc.value)


async def test_tiktoklive_our_429_is_rate_limit_error(fake, ttsign_server, point_tiktoklive):
    srv = ttsign_server(**upstream_settings(fake, rate_limit_minute=1, rate_limit_hour=0, rate_limit_day=0))
    point_tiktoklive(srv.url)
    await run_tiktoklive(int(FAKE_ROOM_ID))
    with pytest.raises(SignatureRateLimitError) as exc:
        await run_tiktoklive(int(FAKE_ROOM_ID), timeout=5)
    assert "try again in" in str(exc.value)


def _node(srv_url: str, *args: str, key: str | None = None) -> tuple[list[dict[str, Any]], str]:
    env = {"SIGN_API_URL": srv_url}
    if key:
        env["SIGN_API_KEY"] = key
    out = run_node("connect.mjs", *args, env=env, timeout=60)
    lines = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    return lines, out.stderr


def test_connector_receives_events_with_room_id(fake, ttsign_server):
    srv = ttsign_server(**upstream_settings(fake))
    lines, err = _node(srv.url, FAKE_USER, FAKE_ROOM_ID)
    done = lines[-1]
    assert done.get("ok"), (lines, err[-2000:])
    chats = [x["text"] for x in lines if x.get("event") == "chat"]
    assert chats[:2] == list(CHAT_TEXTS)
    assert any(x.get("event") == "gift" for x in lines) and any(x.get("event") == "like" for x in lines)
    assert_fake_saw_a_proper_client(fake, heartbeat=False)


def test_connector_own_lookup_against_fake(fake, ttsign_server):
    srv = ttsign_server(**upstream_settings(fake))
    lines, err = _node(srv.url, FAKE_USER, "", f"0.0.0.0:{fake.port}")
    assert lines[-1].get("ok"), (lines, err[-2000:])


def test_connector_socket_refused_reports_error(fake, ttsign_server):
    srv = ttsign_server(**upstream_settings(fake))
    fake.configure(ws_refuse="DEVICE_BLOCKED")
    lines, err = _node(srv.url, FAKE_USER, FAKE_ROOM_ID, "", "8000")
    assert not lines[-1].get("ok")
    text = json.dumps(lines) + err
    assert "DEVICE_BLOCKED" in text


def test_connector_our_429_does_not_crash(fake, ttsign_server):
    srv = ttsign_server(**upstream_settings(fake, rate_limit_minute=1, rate_limit_hour=0, rate_limit_day=0))
    _node(srv.url, FAKE_USER, FAKE_ROOM_ID, "", "8000")
    lines, err = _node(srv.url, FAKE_USER, FAKE_ROOM_ID, "", "8000")
    done = lines[-1]
    assert done.get("reason") == "connect-failed" and done.get("name") == "SignatureRateLimitError", (lines, err)
    assert "RangeError" not in err
