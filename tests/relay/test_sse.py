"""`GET /v1/rooms/{unique_id}/events`: Server-Sent Events with httpx, resume by Last-Event-ID, the poll, flags,
refusals, and the end of the stream when the room ends."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.conftest import ServerThread
from tests.fakes import frames
from tests.fakes.tiktok import CHAT_TEXTS, FAKE_ROOM_ID, FAKE_USER, OFFLINE_USER, FakeTikTok
from tests.relay.conftest import sse_events
from ttsign.tiktok import proto

FIRST_EVENTS = ["control", "member", "chat", "chat", "gift", "like"]


async def test_events_arrive_in_order_with_ids_types_and_the_documented_json(
    relay_server: Callable[..., ServerThread],
) -> None:
    srv = relay_server()
    async with httpx.AsyncClient(timeout=5) as c:
        got = await sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", 6)
    assert [e[1] for e in got] == FIRST_EVENTS
    assert [e[0] for e in got] == [str(i) for i in range(1, 7)] == [str(e[2]["id"]) for e in got]
    chat = got[2][2]
    assert chat["type"] == "chat" and chat["room_id"] == FAKE_ROOM_ID and chat["method"] == "WebcastChatMessage"
    assert chat["data"]["text"] == CHAT_TEXTS[0] and chat["data"]["user"]["unique_id"] == "viewer_one"
    connected = {"source": "ttsign", "action": "connected", "room_id": FAKE_ROOM_ID, "strategy": "direct"}
    assert got[0][2]["data"] == connected
    assert got[4][2]["data"]["gift"]["name"] == "Rose" and got[5][2]["data"]["total"] == 105


async def test_last_event_id_resumes_after_that_event(relay_server: Callable[..., ServerThread]) -> None:
    srv = relay_server()
    url = f"{srv.url}/v1/rooms/{FAKE_USER}/events"
    async with httpx.AsyncClient(timeout=5) as c:
        first = await sse_events(c, url, 6)
        resumed = await sse_events(c, url, 3, {"Last-Event-ID": "3"})
        by_query = await sse_events(c, url + "?after=5", 1)
    assert [e[0] for e in resumed] == ["4", "5", "6"]
    assert [e[2] for e in resumed] == [e[2] for e in first[3:]]
    assert by_query[0][0] == "6"


async def test_pushed_frames_of_every_type_reach_the_stream(
    relay_server: Callable[..., ServerThread], fake: FakeTikTok
) -> None:
    srv = relay_server()
    script = [frames.follow(10), frames.share(2), frames.viewers(99), frames.unknown(), *frames.gift_combo(3)]
    async with httpx.AsyncClient(timeout=5) as c:
        await sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", 1)  # the room is open
        stream = sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events?streaks=1&raw=1&after=6", 7)
        task = asyncio.create_task(stream)
        await asyncio.sleep(0.2)
        fake.pusher.push(FAKE_ROOM_ID, [frames.msg(script)])
        got = await task
    assert [e[1] for e in got] == ["follow", "share", "viewers", "unknown", "gift_streak", "gift_streak", "gift"]
    unknown = got[3][2]
    assert unknown["data"] == {"method": "WebcastNotInOurSchemaMessage", "size": len(frames.unknown()[1])}
    assert base64.b64decode(unknown["raw"]) == frames.unknown()[1]
    assert proto.WebcastSocialMessage.FromString(base64.b64decode(got[0][2]["raw"])).follow_count == 10  # type: ignore[attr-defined]
    assert got[-1][2]["data"]["count"] == 3


async def test_without_streaks_a_combo_is_one_gift(relay_server: Callable[..., ServerThread], fake: FakeTikTok) -> None:
    srv = relay_server()
    async with httpx.AsyncClient(timeout=5) as c:
        await sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", 1)
        fake.pusher.push(FAKE_ROOM_ID, [frames.msg([*frames.gift_combo(4), frames.chat("after")])])
        for _ in range(100):  # until the room has read the pushed frame
            poll = (await c.get(f"{srv.url}/v1/rooms/{FAKE_USER}/events?after=6")).json()
            if len(poll["events"]) >= 2:
                break
            await asyncio.sleep(0.02)
    assert [(e["type"], e["data"].get("count")) for e in poll["events"]] == [("gift", 4), ("chat", None)]


async def test_the_stream_ends_with_an_end_event_after_room_end(
    relay_server: Callable[..., ServerThread], fake: FakeTikTok
) -> None:
    srv = relay_server()
    async with httpx.AsyncClient(timeout=5) as c:
        task = asyncio.create_task(sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", 100))
        await asyncio.sleep(0.3)
        fake.pusher.push(FAKE_ROOM_ID, [frames.msg([frames.room_end()])])
        got = await asyncio.wait_for(task, 5)  # the stream closes by itself
    assert [e[1] for e in got[-2:]] == ["room_end", "end"]
    assert got[-1][2]["code"] == 4005 and got[-1][0] is None


async def test_a_poll_answers_the_buffer_as_json(relay_server: Callable[..., ServerThread]) -> None:
    srv = relay_server()
    async with httpx.AsyncClient(timeout=5) as c:
        await sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", 6)
        r = await c.get(f"{srv.url}/v1/rooms/{FAKE_USER}/events")
        later = await c.get(f"{srv.url}/v1/rooms/{FAKE_USER}/events?after=4&limit=1")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert [e["type"] for e in body["events"]] == FIRST_EVENTS and body["last_id"] == 6 and body["missed"] == 0
    assert r.headers["x-room-id"] == FAKE_ROOM_ID == body["room_id"]
    assert [e["id"] for e in later.json()["events"]] == [5]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"/v1/rooms/{OFFLINE_USER}/events", 404, 4404),
        ("/v1/rooms/nobody_at_all/events", 404, 4404),
        (f"/v1/rooms/{FAKE_USER}/events?raw=maybe", 400, None),
        (f"/v1/rooms/{FAKE_USER}/events?after=-1", 400, None),
        (f"/v1/rooms/{FAKE_USER}/events?limit=0", 400, None),
        ("/v1/rooms/bad%20name/events", 400, None),
    ],
)
async def test_refusals_are_json_errors(
    relay_server: Callable[..., ServerThread], path: str, status: int, code: int | None
) -> None:
    srv = relay_server()
    async with httpx.AsyncClient(timeout=5) as c:
        r = await c.get(srv.url + path, headers={"Accept": "text/event-stream"})
    assert r.status_code == status and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["code"] == status and len(body["message"]) >= 19
    if code is not None:
        assert body["close_code"] == code


async def test_too_many_subscriptions_is_a_429_with_the_rate_limit_headers(
    relay_server: Callable[..., ServerThread],
) -> None:
    srv = relay_server(relay_subscribers_per_key=1)
    async with httpx.AsyncClient(timeout=5) as c:
        url = f"{srv.url}/v1/rooms/{FAKE_USER}/events"
        async with c.stream("GET", url, headers={"Accept": "text/event-stream"}) as open_one:
            assert open_one.status_code == 200
            r = await c.get(url, headers={"Accept": "text/event-stream"})
    assert r.status_code == 429 and r.json()["close_code"] == 4429
    assert {"retry-after", "ratelimit-remaining", "ratelimit-reset", "ratelimit-limit"} <= set(r.headers)


async def test_relay_metrics_count_rooms_subscribers_and_events(relay_server: Callable[..., ServerThread]) -> None:
    srv = relay_server()
    async with httpx.AsyncClient(timeout=5) as c:
        before = await c.get(f"{srv.url}/metrics")
        await sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", 6)
        text = (await c.get(f"{srv.url}/metrics")).text

    def value(body: str, name: str) -> float:
        line = next((x for x in body.splitlines() if x.startswith(name + " ")), f"{name} 0")
        return float(line.split()[-1])

    for name in ('ttsign_relay_events_in_total{type="chat"}', 'ttsign_relay_events_out_total{type="chat"}'):
        assert value(text, name) - value(before.text, name) >= 2, name
    assert value(text, "ttsign_relay_rooms") == 1
    assert "ttsign_relay_upstream_reconnects_total" in text and "ttsign_relay_dropped_events_total" in text
    assert json.loads((await httpx.AsyncClient().get(f"{srv.url}/health")).text)["status"]


async def test_the_fake_takes_scripted_frames_over_http_too(
    relay_server: Callable[..., ServerThread], fake: FakeTikTok
) -> None:
    srv = relay_server()
    async with httpx.AsyncClient(timeout=5) as c:
        await sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", 6)
        frame = base64.b64encode(frames.msg([frames.chat("over http")])).decode()
        pushed = await c.post(f"{fake.base_url}/__rooms/{FAKE_ROOM_ID}/push", json={"frames": [frame]})
        assert pushed.json() == {"ok": True, "sockets": 1}
        for _ in range(100):
            events = (await c.get(f"{srv.url}/v1/rooms/{FAKE_USER}/events?after=6")).json()["events"]
            if events:
                break
            await asyncio.sleep(0.02)
        assert (await c.post(f"{fake.base_url}/__rooms/{FAKE_ROOM_ID}/push", json={})).status_code == 400
    assert [e["data"]["text"] for e in events] == ["over http"]
