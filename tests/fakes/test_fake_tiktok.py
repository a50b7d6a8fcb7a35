"""The offline TikTok double: every route, every rejection, the push-socket flow, and the real clients'
view of what it sends (TikTokLive 7.0.1 in-process, tiktok-live-connector 2.5.0's decoder in Node)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import websockets
from aiohttp import web
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from tests.fakes.tiktok import (
    CHAT_TEXTS,
    FAKE_ROOM_ID,
    FAKE_USER,
    GIFT,
    HISTORY_CHAT_TEXT,
    LIKE_COUNT,
    LIKE_TOTAL,
    MSG_LOG_IDS,
    OFFLINE_ROOM_ID,
    OFFLINE_USER,
    VIEWERS,
    FakeConfig,
    FakeTikTok,
)
from ttsign.tiktok import proto

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "tests" / "e2e" / "node"
TTWID_RE = re.compile(r"^1\|[A-Za-z0-9_-]{43}\|\d{10}\|[0-9a-f]{64}$")
MS_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{128}$")
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
ROOM = int(FAKE_ROOM_ID)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTikTok]:
    f = FakeTikTok().start()
    yield f
    f.stop()


@pytest.fixture(autouse=True)
def _fresh(fake: FakeTikTok) -> None:
    fake.reset()


@pytest.fixture
def http(fake: FakeTikTok) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, timeout=5, follow_redirects=False) as c:
        yield c


def set_cookies(resp: httpx.Response) -> dict[str, str]:
    """name -> raw value of every Set-Cookie header."""
    out = {}
    for line in resp.headers.get_list("set-cookie"):
        name, _, rest = line.partition("=")
        out[name] = rest.split(";", 1)[0]
    return out


# ---- identity ------------------------------------------------------------------------------------


def test_ttwid_register_issues_real_shaped_cookies(fake: FakeTikTok, http: httpx.Client) -> None:
    body = {"region": "va", "aid": 1768, "needFid": False, "service": "https://www.tiktok.com"}
    r = http.post("/ttwid/union/register/", json=body, headers={"User-Agent": UA})
    assert r.status_code == 200
    assert r.json()["status_code"] == 0
    cookies = set_cookies(r)
    assert {"ttwid", "tt_csrf_token", "tt_chain_token"} <= set(cookies)
    raw = cookies["ttwid"]
    assert raw.startswith("1%7C") and "|" not in raw  # URL-encoded in the cookie
    assert TTWID_RE.match(unquote(raw))
    assert fake.ttwid_is_issued(raw) and fake.ttwid_is_issued(unquote(raw))
    assert unquote(raw) in fake.state()["issued"]["ttwid"]
    assert "Domain" not in r.headers["set-cookie"]  # host-only by default


def test_ttwid_check_endpoint_and_cookie_domain(fake: FakeTikTok, http: httpx.Client) -> None:
    fake.configure(cookie_domain=".tiktok.com")
    r = http.post("/ttwid/check/", content=json.dumps({"aid": 1988 + 1}), headers={"Content-Type": "text/plain"})
    assert r.status_code == 200 and "ttwid" in set_cookies(r)
    assert all("Domain=.tiktok.com" in line for line in r.headers.get_list("set-cookie"))


def test_ttwid_register_refuses_webcast_aid_and_bad_bodies(http: httpx.Client) -> None:
    r = http.post("/ttwid/union/register/", json={"aid": 1988})
    assert r.status_code == 200 and r.json()["status_code"] != 0
    assert "set-cookie" not in r.headers
    r = http.post("/ttwid/union/register/", content=b"not json")
    assert r.status_code == 400 and "set-cookie" not in r.headers
    r = http.post("/ttwid/union/register/", json=[1, 2])
    assert r.status_code == 400


def test_forged_ttwid_does_not_verify(fake: FakeTikTok) -> None:
    real = unquote(fake.issue_ttwid())
    forged = real[:-1] + ("0" if real[-1] != "0" else "1")
    assert TTWID_RE.match(forged)
    assert not fake.ttwid_is_issued(forged)
    assert not fake.ttwid_is_issued("1|abc|123|def")
    other = FakeTikTok()  # another instance has another secret
    assert not other.ttwid_is_issued(real)


@pytest.mark.parametrize("path", ["/live", "/", "/explore"])
def test_live_page_sets_identity_cookies_and_ms_token(fake: FakeTikTok, http: httpx.Client, path: str) -> None:
    r = http.get(path, headers={"User-Agent": UA})
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    cookies = set_cookies(r)
    assert {"ttwid", "tt_csrf_token", "tt_chain_token", "msToken"} <= set(cookies)
    token = r.headers["x-ms-token"]
    assert token == cookies["msToken"]
    assert MS_TOKEN_RE.match(token)
    assert fake.ms_token_is_issued(token)
    assert not fake.ms_token_is_issued(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert not fake.ms_token_is_issued("short")


def test_no_cookies_switch(fake: FakeTikTok, http: httpx.Client) -> None:
    fake.configure(no_cookies=True)
    assert "set-cookie" not in http.get("/live").headers
    assert "set-cookie" not in http.post("/ttwid/union/register/", json={"aid": 1768}).headers


# ---- rooms ---------------------------------------------------------------------------------------


def test_user_live_page_parsed_by_tiktoklive(http: httpx.Client) -> None:
    from TikTokLive.client.web.routes.fetch_room_id_live_html import FetchRoomIdLiveHTMLRoute

    r = http.get(f"/@{FAKE_USER}/live")
    assert r.status_code == 200 and "ttwid" in set_cookies(r)
    assert FetchRoomIdLiveHTMLRoute.parse_room_id(r.text) == FAKE_ROOM_ID
    sigi = json.loads(re.search(r'<script id="SIGI_STATE" type="application/json">(.*?)</script>', r.text)[1])
    info = sigi["LiveRoom"]["liveRoomUserInfo"]
    assert info["user"]["status"] == 2 and info["liveRoom"]["status"] == 2
    assert len(FAKE_ROOM_ID) == 19


def test_user_live_page_offline_unknown_and_shell(fake: FakeTikTok, http: httpx.Client) -> None:
    from TikTokLive.client.errors import UserNotFoundError, UserOfflineError
    from TikTokLive.client.web.routes.fetch_room_id_live_html import (
        FailedParseRoomIdError,
        FetchRoomIdLiveHTMLRoute,
    )

    with pytest.raises(UserOfflineError):
        FetchRoomIdLiveHTMLRoute.parse_room_id(http.get(f"/@{OFFLINE_USER}/live").text)
    page = http.get("/@nobody_here/live").text
    assert '"LiveRoom": null' in page
    with pytest.raises(UserNotFoundError):
        FetchRoomIdLiveHTMLRoute.parse_room_id(page)
    fake.configure(sigi_shell=True)
    with pytest.raises(FailedParseRoomIdError):
        FetchRoomIdLiveHTMLRoute.parse_room_id(http.get(f"/@{FAKE_USER}/live").text)


def test_api_live_user_room(fake: FakeTikTok, http: httpx.Client) -> None:
    r = http.get("/api-live/user/room/", params={"aid": "1988", "uniqueId": FAKE_USER, "sourceType": "54"})
    body = r.json()
    assert body["statusCode"] == 0 and body["message"] == ""
    assert body["data"]["user"]["roomId"] == FAKE_ROOM_ID
    assert body["data"]["user"]["uniqueId"] == FAKE_USER
    assert body["data"]["liveRoom"]["status"] == 2
    assert "stream_data" in body["data"]["liveRoom"]["streamData"]["pull_data"]
    assert fake.ms_token_is_issued(r.headers["x-ms-token"])
    off = http.get("/api-live/user/room", params={"uniqueId": OFFLINE_USER, "sourceType": "54"}).json()
    assert off["statusCode"] == 0 and off["data"]["liveRoom"]["status"] == 4 and off["data"]["user"]["status"] == 4
    unknown = http.get("/api-live/user/room/", params={"uniqueId": "nobody_here", "sourceType": "54"}).json()
    assert (unknown["statusCode"], unknown["message"], unknown["data"]) == (19881007, "user_not_found", None)
    no_source = http.get("/api-live/user/room/", params={"uniqueId": FAKE_USER}).json()
    assert no_source["statusCode"] == 10011


def test_configured_offline_and_unknown_users(fake: FakeTikTok, http: httpx.Client) -> None:
    fake.configure(offline_users=[FAKE_USER])
    q = {"uniqueId": FAKE_USER, "sourceType": "54"}
    assert http.get("/api-live/user/room/", params=q).json()["data"]["liveRoom"]["status"] == 4
    assert http.get("/webcast/room/info/", params={"room_id": FAKE_ROOM_ID}).json()["data"]["status"] == 4
    alive = http.get("/webcast/room/check_alive/", params={"room_ids": FAKE_ROOM_ID}).json()
    assert alive["data"][0]["alive"] is False
    fake.configure(offline_users=[], unknown_users=[FAKE_USER])
    assert http.get("/api-live/user/room/", params=q).json()["statusCode"] == 19881007
    assert http.get("/webcast/room/info/", params={"room_id": FAKE_ROOM_ID}).json()["status_code"] != 0
    users = {u["unique_id"]: u for u in fake.state()["users"]}
    assert users[FAKE_USER]["known"] is False and users[OFFLINE_USER]["status"] == 4


def test_room_info_check_alive_gift_list(http: httpx.Client) -> None:
    info = http.get("/webcast/room/info/", params={"room_id": FAKE_ROOM_ID}).json()
    assert info["status_code"] == 0
    assert info["data"]["status"] == 2 and info["data"]["id_str"] == FAKE_ROOM_ID
    assert info["data"]["owner"]["display_id"] == FAKE_USER
    assert len(info["data"]) > 1 and "prompts" not in info["data"]  # TikTokLive's age-restriction test
    off = http.get("/webcast/room/info/", params={"room_id": OFFLINE_ROOM_ID}).json()
    assert off["data"]["status"] == 4
    by_user = http.get("/webcast/room/info_by_user/", params={"unique_id": FAKE_USER}).json()
    assert by_user["data"]["id_str"] == FAKE_ROOM_ID
    missing = http.get("/webcast/room/info/", params={"room_id": "1"}).json()
    assert missing["status_code"] == 30003
    ids = f"{FAKE_ROOM_ID},{OFFLINE_ROOM_ID},123"
    alive = http.get("/webcast/room/check_alive/", params={"room_ids": ids}).json()["data"]
    assert [a["alive"] for a in alive] == [True, False, False]
    assert [a["room_id_str"] for a in alive] == ids.split(",")
    assert alive[0]["room_id"] == ROOM
    gifts = http.get("/webcast/gift/list/").json()["data"]["gifts"]
    assert gifts[0]["id"] == GIFT["id"] and gifts[0]["name"] == GIFT["name"]


# ---- im/fetch ------------------------------------------------------------------------------------


def test_im_fetch_rejects_x_gnarly_and_x_dynosaur(http: httpx.Client) -> None:
    q = {"room_id": FAKE_ROOM_ID, "aid": "1988"}
    assert http.get("/webcast/im/fetch/", params={**q, "X-Gnarly": "abc"}).status_code == 403
    assert http.get("/webcast/im/fetch/", params={**q, "X-Dynosaur": "abc"}).status_code == 403
    assert http.get("/webcast/im/fetch/", params=q, headers={"X-Gnarly": "abc"}).status_code == 403
    r = http.get("/webcast/im/fetch/", params={**q, "x-gnarly": "abc"})
    assert r.status_code == 403 and r.headers.get("x-ms-token")


def test_im_fetch_gates_a_forged_ms_token(http: httpx.Client) -> None:
    forged = base64.urlsafe_b64encode(os.urandom(96)).decode().rstrip("=")
    for kw in ({"params": {"room_id": FAKE_ROOM_ID, "msToken": forged}}, {"params": {"room_id": FAKE_ROOM_ID}}):
        cookies = {} if "msToken" in kw["params"] else {"msToken": forged}
        http.cookies.clear()
        r = http.get("/webcast/im/fetch/", cookies=cookies, **kw)  # type: ignore[arg-type]
        assert r.status_code == 200 and r.content == b""
        assert r.headers["tt_orcas_res"] == "1"


@pytest.mark.parametrize("token", ["issued", "empty", "absent"])
def test_im_fetch_answers_a_real_shaped_result(fake: FakeTikTok, http: httpx.Client, token: str) -> None:
    params = {"room_id": FAKE_ROOM_ID, "aid": "1988", "resp_content_type": "protobuf", "X-Bogus": "DFSz"}
    if token == "issued":
        params["msToken"] = fake.issue_ms_token()
    elif token == "empty":
        params["msToken"] = ""
    r = http.get("/webcast/im/fetch/", params=params)
    assert r.status_code == 200 and r.content and "tt_orcas_res" not in r.headers
    result = proto.decode_fetch_result(r.content)
    assert result.push_server == fake.ws_url
    assert set(result.route_params) == {"wrss", "imprp"} and all(result.route_params.values())
    assert result.is_first is True and result.cursor and result.internal_ext
    assert [m.method for m in result.messages] == [proto.METHOD_CHAT]
    assert result.messages[0].is_history
    event = proto.decode_event(result.messages[0].method, result.messages[0].payload)
    assert event["text"] == HISTORY_CHAT_TEXT and event["room_id"] == FAKE_ROOM_ID


def test_im_fetch_empty_switch_and_bad_room(fake: FakeTikTok, http: httpx.Client) -> None:
    assert http.get("/webcast/im/fetch/", params={"room_id": "abc"}).status_code == 400
    fake.configure(fetch_empty=True)
    r = http.get("/webcast/im/fetch/", params={"room_id": FAKE_ROOM_ID})
    assert r.status_code == 200 and r.content == b""


# ---- control -------------------------------------------------------------------------------------


def test_down_switch_fails_every_tiktok_route_but_not_control(fake: FakeTikTok, http: httpx.Client) -> None:
    fake.configure(down=503)
    for path in ("/live", "/api-live/user/room/", "/webcast/im/fetch/", "/webcast/room/info/"):
        assert http.get(path).status_code == 503
    assert http.post("/ttwid/union/register/", json={"aid": 1768}).status_code == 503
    assert http.get("/__state").status_code == 200
    statuses = {(q["path"], q["status"]) for q in fake.state()["requests"]}
    assert ("/live", 503) in statuses


def test_control_routes_over_http(fake: FakeTikTok, http: httpx.Client) -> None:
    http.get("/live", headers={"User-Agent": UA}, params={"a": "1"}, cookies={"x": "y"})
    state = http.get("/__state").json()
    (req,) = state["requests"]
    assert (req["method"], req["path"], req["query"], req["status"]) == ("GET", "/live", {"a": "1"}, 200)
    assert req["headers"]["user-agent"] == UA and req["cookies"] == {"x": "y"}
    assert state["config"] == FakeConfig().__dict__
    r = http.post("/__config", json={"fetch_empty": True, "ws_refuse": "DEVICE_BLOCKED"})
    assert r.status_code == 200 and r.json()["fetch_empty"] is True
    assert http.get("/__config").json()["ws_refuse"] == "DEVICE_BLOCKED"
    assert http.post("/__config", json={"no_such_knob": 1}).status_code == 400
    assert http.post("/__config", json={"down": "yes"}).status_code == 400
    assert http.post("/__config", json={"fetch_empty": 1}).status_code == 400
    assert http.post("/__config", json=[1]).status_code == 400
    assert http.post("/__config", content=b"{").status_code == 400
    assert http.post("/__reset").json() == {"ok": True}
    after = http.get("/__state").json()
    assert after["requests"] == [] and after["config"]["ws_refuse"] == "" and after["config"]["fetch_empty"] is False


def test_configure_validates(fake: FakeTikTok) -> None:
    with pytest.raises(ValueError):
        fake.configure(nope=True)
    with pytest.raises(ValueError):
        fake.configure(offline_users=[1])
    assert fake.configure(ping_interval=3)["ping_interval"] == 3


# ---- the push socket -----------------------------------------------------------------------------


def ws_query(compress: bool = True, room_id: str = FAKE_ROOM_ID) -> str:
    q = f"aid=1988&app_name=tiktok_web&version_code=180800&ws_direct=1&room_id={room_id}&identity=audience"
    return q + ("&compress=gzip" if compress else "") + "&version_code=270000"


async def open_socket(fake: FakeTikTok, cookie: str | None, query: str | None = None) -> ClientConnection:
    headers = {"User-Agent": UA}
    if cookie is not None:
        headers["Cookie"] = cookie
    return await websockets.connect(
        f"{fake.ws_url}?{query or ws_query()}",
        additional_headers=headers,
        subprotocols=["echo-protocol"],  # type: ignore[list-item]
        open_timeout=5,
    )


async def recv_frame(ws: ClientConnection) -> proto.ParsedPushFrame:
    return proto.parse_push_frame(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[arg-type]


async def test_socket_without_ttwid_is_refused_tiktok_style(fake: FakeTikTok) -> None:
    with pytest.raises(InvalidStatus) as info:
        await open_socket(fake, cookie="tt-target-idc=useast1a; tt_csrf_token=x")
    resp = info.value.response
    assert resp.status_code == 200
    assert resp.headers["handshake-status"] == "417" and resp.headers["handshake-msg"]
    with pytest.raises(InvalidStatus):
        await open_socket(fake, cookie=None)
    socks = fake.state()["sockets"]
    assert [s["accepted"] for s in socks] == [False, False]
    assert socks[0]["refused"]["handshake_status"] == 417
    assert socks[0]["cookies"] == {"tt-target-idc": "useast1a", "tt_csrf_token": "x"}


async def test_refuse_switch_and_strict_ttwid(fake: FakeTikTok) -> None:
    issued = fake.issue_ttwid()
    fake.configure(ws_refuse="DEVICE_BLOCKED", ws_refuse_status=415)
    with pytest.raises(InvalidStatus) as info:
        await open_socket(fake, cookie=f"ttwid={issued}")
    assert info.value.response.status_code == 200
    assert info.value.response.headers["handshake-msg"] == "DEVICE_BLOCKED"
    assert info.value.response.headers["handshake-status"] == "415"
    fake.configure(ws_refuse="", strict_ttwid=True)
    with pytest.raises(InvalidStatus):
        await open_socket(fake, cookie="ttwid=1%7Cmadeup%7C1700000000%7Cabc")
    ws = await open_socket(fake, cookie=f"ttwid={issued}")
    await ws.close()
    assert [s["accepted"] for s in fake.state()["sockets"]] == [False, False, True]


async def test_down_switch_refuses_the_socket(fake: FakeTikTok) -> None:
    fake.configure(down=502)
    with pytest.raises(InvalidStatus) as info:
        await open_socket(fake, cookie=f"ttwid={fake.issue_ttwid()}")
    assert info.value.response.status_code == 502


async def test_plain_get_on_the_socket_path_is_not_an_upgrade(fake: FakeTikTok) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.get(fake.ws_url.replace("ws://", "http://"))
    assert r.status_code == 400


async def enter_and_collect(ws: ClientConnection, n_msg: int = len(MSG_LOG_IDS)) -> list[proto.ParsedPushFrame]:
    await ws.send(proto.push_frame("im_enter_room", proto.encode_enter_room(ROOM, enter_unique_id=42)))
    frames = [await recv_frame(ws)]
    while sum(f.payload_type == "msg" for f in frames) < n_msg:
        frames.append(await recv_frame(ws))
    return frames


@pytest.mark.parametrize("compress", [True, False])
async def test_socket_flow(fake: FakeTikTok, compress: bool) -> None:
    ttwid = fake.issue_ttwid()
    cookie = f"tt-target-idc=useast1a; ttwid={ttwid}; tt_csrf_token=abc;"
    ws = await open_socket(fake, cookie=cookie, query=ws_query(compress))
    try:
        assert ws.response is not None
        assert "ping-interval=10" in ws.response.headers["Handshake-Options"]
        frames = await enter_and_collect(ws)
        assert frames[0].payload_type == "im_enter_room_resp"
        assert frames[0].fetch_result().cursor
        msgs = [f for f in frames if f.payload_type == "msg"]
        assert [f.log_id for f in msgs] == list(MSG_LOG_IDS)
        events: list[dict[str, Any]] = []
        for f in msgs:
            assert f.compressed is compress and (f.headers.get("compress_type") == "gzip") is compress
            result = f.fetch_result()
            assert result.need_ack and result.internal_ext
            events += [proto.decode_event(m.method, m.payload) for m in result.messages]
            await ws.send(proto.push_frame("ack", result.internal_ext.encode(), log_id=f.log_id))
        assert [e["type"] for e in events] == ["member", "chat", "chat", "gift", "like"]
        assert [e["text"] for e in events if e["type"] == "chat"] == list(CHAT_TEXTS)
        assert {e["room_id"] for e in events} == {FAKE_ROOM_ID}
        assert events[1]["user"] == {"id": str(VIEWERS[0].id), "nickname": "Viewer One", "unique_id": "viewer_one"}
        assert events[3]["gift"]["id"] == GIFT["id"] and events[3]["gift"]["repeat_end"] == 1
        assert (events[4]["likes"], events[4]["total"]) == (LIKE_COUNT, LIKE_TOTAL)
        await ws.send(proto.push_frame("hb", proto.encode_heartbeat(ROOM, 1)))
        hb = await recv_frame(ws)
        assert hb.payload_type == "hb" and hb.payload == b""
    finally:
        await ws.close()
    await asyncio.sleep(0.05)
    (sock,) = fake.state()["sockets"]
    assert sock["accepted"] and sock["ttwid_issued"] and sock["closed"]
    assert sock["cookies"]["ttwid"] == ttwid and sock["cookie_header"] == cookie
    assert sock["user_agent"] == UA
    assert sock["query"]["room_id"] == FAKE_ROOM_ID
    assert sock["raw_query"].count("version_code=") == 2
    assert sock["payload_types"] == ["im_enter_room", "ack", "ack", "ack", "ack", "hb"]
    assert [a["log_id"] for a in sock["acks"]] == list(MSG_LOG_IDS)
    assert all(f"wss_push_log_id:{a['log_id']}" in a["payload"] for a in sock["acks"])
    assert sock["heartbeats"] == [{"room_id": FAKE_ROOM_ID, "seq_id": 1}]
    assert sock["enter_room"][0]["room_id"] == FAKE_ROOM_ID and sock["enter_room"][0]["enter_unique_id"] == "42"
    assert [s["payload_type"] for s in sock["sent"]] == ["im_enter_room_resp", "msg", "msg", "msg", "msg", "hb"]
    state = fake.state()
    assert state["payload_types"] == sock["payload_types"]
    assert [a["log_id"] for a in state["acks"]] == list(MSG_LOG_IDS)


async def test_second_enter_gets_a_resp_but_no_replay(fake: FakeTikTok) -> None:
    ws = await open_socket(fake, cookie=f"ttwid={fake.issue_ttwid()}")
    try:
        await enter_and_collect(ws)
        await ws.send(proto.push_frame("im_enter_room", proto.encode_enter_room(ROOM)))
        assert (await recv_frame(ws)).payload_type == "im_enter_room_resp"
        await ws.send(proto.push_frame("hb", proto.encode_heartbeat(ROOM, 2)))
        assert (await recv_frame(ws)).payload_type == "hb"  # no second batch of msg frames in between
    finally:
        await ws.close()


async def test_hb_before_enter_and_garbage_frames_are_recorded(fake: FakeTikTok) -> None:
    ws = await open_socket(fake, cookie=f"ttwid={fake.issue_ttwid()}")
    try:
        await ws.send(proto.push_frame("hb", proto.encode_heartbeat(ROOM, 1)))
        assert (await recv_frame(ws)).payload_type == "hb"
        await ws.send(b"\x0a\x05ab")
        await ws.send("text frame")
        await ws.send(proto.push_frame("im_enter_room", b"\xff"))  # undecodable enter: falls back to the query
        assert (await recv_frame(ws)).payload_type == "im_enter_room_resp"
        msg = await recv_frame(ws)
        assert msg.payload_type == "msg"
        assert proto.decode_event(*_first(msg))["room_id"] == FAKE_ROOM_ID
    finally:
        await ws.close()
    await asyncio.sleep(0.05)
    (sock,) = fake.state()["sockets"]
    assert sock["payload_types"] == ["hb", "im_enter_room"]
    assert {"undecodable": 4} in sock["frames_in"] and {"text": "text frame"} in sock["frames_in"]


def _first(frame: proto.ParsedPushFrame) -> tuple[str, bytes]:
    m = frame.fetch_result().messages[0]
    return m.method, m.payload


async def test_close_reason_and_ping_interval_switches(fake: FakeTikTok) -> None:
    fake.configure(close_reason="disable_web_direct", ping_interval=2)
    ws = await open_socket(fake, cookie=f"ttwid={fake.issue_ttwid()}")
    assert ws.response is not None and "ping-interval=2" in ws.response.headers["Handshake-Options"]
    frames = await enter_and_collect(ws)
    close = await recv_frame(ws)
    assert close.payload_type == "close" and close.headers["close_reason"] == "disable_web_direct"
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert len(frames) == 1 + len(MSG_LOG_IDS)


# ---- lifecycle -----------------------------------------------------------------------------------


async def test_async_start_in_the_running_loop() -> None:
    async with FakeTikTok() as f:
        assert f.port > 0
        async with httpx.AsyncClient() as c:
            assert (await c.get(f.base_url + "/live")).status_code == 200
        assert f.webcast_url == f.base_url + "/webcast"
        assert f.ttwid_url == f.base_url + "/ttwid/union/register/"
        assert f.ws_url.startswith("ws://127.0.0.1:") and f.ws_url.endswith("/ws_reuse_supplement/")
        assert f.state()["requests"][0]["path"] == "/live"
        assert set(f.users) == {FAKE_USER, OFFLINE_USER}


def test_sync_context_manager_and_stop() -> None:
    with FakeTikTok() as f:
        assert httpx.get(f.base_url + "/live").status_code == 200
        port = f.port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/live", timeout=2)


def test_runs_alone_from_the_command_line() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.tiktok", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert m, line + (proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        assert httpx.get(m[1] + "/webcast/room/check_alive/", params={"room_ids": FAKE_ROOM_ID}).json()["data"][0][
            "alive"
        ]
    finally:
        proc.terminate()
        proc.wait(10)


# ---- the real clients' view ----------------------------------------------------------------------


async def test_tiktoklive_decodes_fake_frames_into_events(fake: FakeTikTok) -> None:
    from TikTokLive.client.ws.ws_utils import extract_webcast_response_message
    from TikTokLive.events import CommentEvent, GiftEvent, JoinEvent, LikeEvent
    from TikTokLive.events.proto_events import EVENT_MAPPINGS
    from TikTokLiveProto.v3.webcast.im import WebcastPushFrame

    ws = await open_socket(fake, cookie=f"ttwid={fake.issue_ttwid()}")
    try:
        await ws.send(proto.push_frame("im_enter_room", proto.encode_enter_room(ROOM)))
        raw: list[bytes] = []
        while len(raw) < 1 + len(MSG_LOG_IDS):
            raw.append(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[arg-type]
    finally:
        await ws.close()
    events = []
    for data in raw:
        frame = WebcastPushFrame().parse(data)
        if frame.payload_type != "msg":
            continue
        result = extract_webcast_response_message(frame)
        events += [EVENT_MAPPINGS[m.method]().parse(m.payload) for m in result.messages]
    assert [type(e) for e in events] == [JoinEvent, CommentEvent, CommentEvent, GiftEvent, LikeEvent]
    assert [e.comment for e in events if isinstance(e, CommentEvent)] == list(CHAT_TEXTS)
    assert events[1].user.unique_id == VIEWERS[0].unique_id and events[1].user.id == VIEWERS[0].id
    assert events[3].gift.name == GIFT["name"] and events[3].repeat_end == 1
    assert events[4].count == LIKE_COUNT and events[4].total == LIKE_TOTAL


@pytest.fixture
async def stub_sign_server(fake: FakeTikTok) -> AsyncIterator[str]:
    """The smallest sign server TikTokLive accepts: a synthesized fetch result + ``X-Set-TT-Cookie``."""

    async def fetch(request: web.Request) -> web.Response:
        body = proto.encode_fetch_result(
            cursor="0",
            push_server=fake.ws_url,
            route_params={"ws_direct": "1", "heartbeat_duration": "10000"},
            is_first=True,
        )
        return web.Response(body=body, headers={"X-Set-TT-Cookie": f"ttwid={fake.issue_ttwid()}"})

    app = web.Application()
    app.router.add_get("/webcast/fetch", fetch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_tiktoklive_client_end_to_end_against_the_fake(
    fake: FakeTikTok, stub_sign_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unmodified TikTokLive client: room-id lookup, live check and room info on the fake, then the socket."""
    from TikTokLive import TikTokLiveClient
    from TikTokLive.client.web.web_settings import WebDefaults
    from TikTokLive.events import CommentEvent, ConnectEvent, GiftEvent, LikeEvent

    monkeypatch.delenv("SIGN_API_URL", raising=False)
    monkeypatch.delenv("SIGN_API_KEY", raising=False)
    monkeypatch.setattr(WebDefaults, "tiktok_sign_url", stub_sign_server)
    monkeypatch.setattr(WebDefaults, "tiktok_app_url", fake.base_url)
    monkeypatch.setattr(WebDefaults, "tiktok_webcast_url", fake.webcast_url)
    client = TikTokLiveClient(unique_id=f"@{FAKE_USER}")
    got: list[Any] = []
    done = asyncio.Event()

    async def on_any(event: Any) -> None:
        got.append(event)
        if sum(isinstance(e, (CommentEvent, GiftEvent, LikeEvent)) for e in got) >= 4:
            done.set()

    for kind in (ConnectEvent, CommentEvent, GiftEvent, LikeEvent):
        client.add_listener(kind, on_any)
    task = await client.start(fetch_room_info=True)
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await client.disconnect()  # (close_client=True would call run_until_complete inside our loop)
        await client.web.close()
        if not task.done():
            task.cancel()
    assert isinstance(got[0], ConnectEvent) and got[0].room_id == ROOM
    assert [e.comment for e in got if isinstance(e, CommentEvent)] == list(CHAT_TEXTS)
    assert [e.gift.name for e in got if isinstance(e, GiftEvent)] == [GIFT["name"]]
    assert [e.count for e in got if isinstance(e, LikeEvent)] == [LIKE_COUNT]
    await asyncio.sleep(0.05)
    state = fake.state()
    paths = [r["path"] for r in state["requests"]]
    assert f"/@{FAKE_USER}/live" in paths and "/webcast/room/check_alive/" in paths
    assert "/webcast/room/info/" in paths
    (sock,) = state["sockets"]
    assert sock["accepted"] and sock["ttwid_issued"]
    assert sock["query"]["compress"] == "gzip" and sock["query"]["room_id"] == FAKE_ROOM_ID
    assert sock["payload_types"][:2] == ["im_enter_room", "hb"]
    assert [a["log_id"] for a in sock["acks"]] == list(MSG_LOG_IDS)


NODE_DECODE = r"""
import { deserializeWebSocketMessage, WebcastEventMap } from "tiktok-live-connector";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const lines = input.trim().split("\n");
const out = [];
for (const line of lines) {
  const c = await deserializeWebSocketMessage(Buffer.from(line, "base64"));
  const r = c.protoMessageFetchResult;
  out.push({
    payloadType: c.payloadType, logId: String(c.logId), needAck: !!r?.needAck, internalExt: r?.internalExt ?? "",
    events: (r?.messages ?? []).map((m) => ({
      method: m.method,
      event: m.method === "WebcastGiftMessage" ? "gift" : WebcastEventMap[m.method],
      error: m.decodeError ? String(m.decodeError) : null,
      user: m.decodedData?.data?.user
        ? { id: String(m.decodedData.data.user.id), nickname: m.decodedData.data.user.nickname,
            displayId: m.decodedData.data.user.displayId }
        : null,
      content: m.decodedData?.data?.content,
      giftId: m.decodedData?.data?.giftId !== undefined ? String(m.decodedData.data.giftId) : undefined,
      giftName: m.decodedData?.data?.gift?.name,
      count: m.decodedData?.data?.count,
      total: m.decodedData?.data?.total !== undefined ? String(m.decodedData.data.total) : undefined,
    })),
  });
}
console.log(JSON.stringify(out));
"""


def node_ready() -> bool:
    return shutil.which("node") is not None and (NODE_DIR / "node_modules" / "tiktok-live-connector").is_dir()


async def test_connector_decodes_fake_frames_into_events(fake: FakeTikTok) -> None:
    """tiktok-live-connector 2.5.0's own decoder (installed by `make test`) on the fake's frames."""
    if not node_ready():
        if os.environ.get("CI"):
            pytest.fail("node or tests/e2e/node/node_modules is missing: run `make test` (it runs npm ci)")
        pytest.skip("node or tests/e2e/node/node_modules missing (make node)")
    ws = await open_socket(fake, cookie=f"ttwid={fake.issue_ttwid()}")
    try:
        await ws.send(proto.push_frame("im_enter_room", proto.encode_enter_room(ROOM)))
        raw = [await asyncio.wait_for(ws.recv(), 5) for _ in range(1 + len(MSG_LOG_IDS))]
    finally:
        await ws.close()
    stdin = "\n".join(base64.b64encode(r).decode() for r in raw)  # type: ignore[arg-type]
    proc = await asyncio.to_thread(
        subprocess.run,
        ["node", "--input-type=module", "-e", NODE_DECODE],
        cwd=NODE_DIR,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    frames = json.loads(proc.stdout)
    assert [f["payloadType"] for f in frames] == ["im_enter_room_resp", "msg", "msg", "msg", "msg"]
    msgs = frames[1:]
    assert [f["logId"] for f in msgs] == [str(i) for i in MSG_LOG_IDS]
    assert all(f["needAck"] and f["internalExt"] for f in msgs)  # what the connector needs to ack
    events = [e for f in msgs for e in f["events"]]
    assert [e["error"] for e in events] == [None] * 5
    assert [e["event"] for e in events] == ["member", "chat", "chat", "gift", "like"]
    assert [e["content"] for e in events if e["event"] == "chat"] == list(CHAT_TEXTS)
    assert events[1]["user"] == {"id": str(VIEWERS[0].id), "nickname": "Viewer One", "displayId": "viewer_one"}
    assert (events[3]["giftId"], events[3]["giftName"]) == (str(GIFT["id"]), GIFT["name"])
    assert (events[4]["count"], events[4]["total"]) == (LIKE_COUNT, str(LIKE_TOTAL))
