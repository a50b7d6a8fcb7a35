"""`GET /v1/rooms/{unique_id}/ws` with `websockets`: the same JSON events as SSE, in order, resume, the end of a
room and refusals as close codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import websockets

from tests.e2e.conftest import ServerThread
from tests.fakes import frames
from tests.fakes.tiktok import FAKE_ROOM_ID, FAKE_USER, OFFLINE_USER, FakeTikTok
from tests.relay.conftest import sse_events


def ws_url(srv: ServerThread, user: str, query: str = "") -> str:
    return f"ws://127.0.0.1:{srv.port}/v1/rooms/{user}/ws{query}"


async def drain(ws: Any) -> list[dict[str, Any]]:
    """Every message until the server closes (any close code)."""
    out = []
    try:
        while True:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    except websockets.ConnectionClosed:
        return out


async def receive(ws: Any, n: int) -> list[dict[str, Any]]:
    return [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(n)]


async def test_the_websocket_sends_the_same_events_as_sse_in_order(relay_server: Callable[..., ServerThread]) -> None:
    srv = relay_server()
    async with websockets.connect(ws_url(srv, FAKE_USER)) as ws:
        over_ws = await receive(ws, 6)
        async with httpx.AsyncClient(timeout=5) as c:
            over_sse = await sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", 6, {"Last-Event-ID": "0"})
    assert [e["id"] for e in over_ws] == list(range(1, 7))
    assert over_ws == [e[2] for e in over_sse]
    assert [e["type"] for e in over_ws] == ["control", "member", "chat", "chat", "gift", "like"]


async def test_last_event_id_resumes_and_limit_ends_with_an_end_message(
    relay_server: Callable[..., ServerThread],
) -> None:
    srv = relay_server()
    async with websockets.connect(ws_url(srv, FAKE_USER)) as ws:
        await receive(ws, 6)
    async with websockets.connect(ws_url(srv, FAKE_USER, "?last_event_id=4&limit=2")) as ws:
        got = await drain(ws)
        assert ws.close_code == 1000
    assert [e.get("id") for e in got] == [5, 6, None] and got[-1]["type"] == "end"


async def test_room_end_then_end_message_and_close_4005(
    relay_server: Callable[..., ServerThread], fake: FakeTikTok
) -> None:
    srv = relay_server()
    async with websockets.connect(ws_url(srv, FAKE_USER, "?raw=1")) as ws:
        await receive(ws, 6)
        fake.pusher.push(FAKE_ROOM_ID, [frames.msg([frames.chat("last words"), frames.room_end()])])
        got = await drain(ws)
        assert ws.close_code == 4005
    assert [e["type"] for e in got] == ["chat", "room_end", "end"]
    assert got[0]["data"]["text"] == "last words" and "raw" in got[0] and got[-1]["code"] == 4005


async def test_refusals_are_an_error_message_and_the_euler_close_code(
    relay_server: Callable[..., ServerThread],
) -> None:
    srv = relay_server(relay_subscribers_per_key=1)
    for user, query, code in ((OFFLINE_USER, "", 4404), ("bad name", "", 4400), (FAKE_USER, "?raw=x", 4400)):
        async with websockets.connect(ws_url(srv, user.replace(" ", "%20"), query)) as ws:
            got = await drain(ws)
            assert ws.close_code == code, (user, query)
        assert got[0]["type"] == "error" and got[0]["code"] == code and len(got[0]["message"]) >= 19
    async with websockets.connect(ws_url(srv, FAKE_USER)) as first:
        await receive(first, 1)
        async with websockets.connect(ws_url(srv, FAKE_USER)) as second:
            got = await drain(second)
            assert second.close_code == 4429 and got[0]["code"] == 4429
