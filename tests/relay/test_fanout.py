"""Fan-out: 100 subscribers of one room share one upstream socket (the fake counts them); a stalled subscriber
is cut off with a reason and never delays the others."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable

import httpx

from tests.e2e.conftest import ServerThread
from tests.fakes import frames
from tests.fakes.tiktok import FAKE_ROOM_ID, FAKE_USER, FakeTikTok
from tests.relay.conftest import relay_settings, sse_events
from ttsign.relay.hub import RelayHub
from ttsign.tiktok.client import TikTokClient

N = 100
LINES = [f"fan-out line {i}" for i in range(10)]


def room_sockets(fake: FakeTikTok) -> int:
    return sum(1 for s in fake.state()["sockets"] if s["accepted"] and s["query"].get("room_id") == FAKE_ROOM_ID)


async def test_a_hundred_sse_subscribers_share_one_upstream_socket(
    relay_server: Callable[..., ServerThread], fake: FakeTikTok
) -> None:
    srv = relay_server(relay_subscribers_per_key=N + 5)
    url = f"{srv.url}/v1/rooms/{FAKE_USER}/events?after=6"
    limits = httpx.Limits(max_connections=N + 10, max_keepalive_connections=N + 10)
    async with httpx.AsyncClient(timeout=10, limits=limits) as c:
        await sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", 6)  # open the room, its first events
        tasks = [asyncio.create_task(sse_events(c, url, len(LINES))) for _ in range(N)]
        deadline = time.monotonic() + 10
        while (await c.get(f"{srv.url}/v1/rooms/{FAKE_USER}/events?after=999")).status_code == 200:
            subs = float(
                next(
                    x for x in (await c.get(f"{srv.url}/metrics")).text.splitlines() if x.startswith("ttsign_relay_sub")
                ).split()[-1]
            )
            if subs >= N:
                break
            assert time.monotonic() < deadline, f"only {subs} of {N} subscribers connected"
            await asyncio.sleep(0.05)
        fake.pusher.push(FAKE_ROOM_ID, [frames.msg([frames.chat(line)]) for line in LINES])
        results = await asyncio.wait_for(asyncio.gather(*tasks), 15)
    assert all([e[2]["data"]["text"] for e in got] == LINES for got in results)
    assert all([int(e[0]) for e in got] == list(range(7, 7 + len(LINES))) for got in results)
    assert room_sockets(fake) == 1 and fake.pusher.count(FAKE_ROOM_ID) == 1


async def _until_subscribers(client: httpx.AsyncClient, srv: ServerThread, n: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        text = (await client.get(f"{srv.url}/metrics")).text
        subs = float(next(x for x in text.splitlines() if x.startswith("ttsign_relay_subscribers ")).split()[-1])
        if subs >= n:
            return
        assert time.monotonic() < deadline, f"only {subs} of {n} subscribers connected"
        await asyncio.sleep(0.02)


async def _read_chats(client: httpx.AsyncClient, url: str, into: list[str], count: int) -> None:
    """The texts of `count` chat events of `url`, appended to `into` as they arrive (anything else fails)."""
    async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as resp:
        async for line in resp.aiter_lines():
            if line.startswith("data:"):
                event = json.loads(line[5:])
                assert event["type"] != "end", event  # this reader was cut off
                text = event["data"].get("text", "") if event["type"] == "chat" else ""
                if text.endswith("xxxxxxxx"):  # a scripted line (not the fake's own chats)
                    into.append(text.split()[0])
                if len(into) >= count:
                    return


async def test_a_stalled_http_subscriber_is_cut_off_and_the_others_are_not_delayed(
    relay_server: Callable[..., ServerThread], fake: FakeTikTok
) -> None:
    """Two readers and one HTTP client that never reads a byte: the room goes on for the readers (each batch
    reaches them while the stalled one's buffers fill), and the stalled one is cut off."""
    srv = relay_server(relay_queue=256)
    big = "x" * 16000
    count, batch = 700, 50  # ~11 MB: more than the stalled socket's kernel buffers (4 MB here) and queue hold
    async with httpx.AsyncClient(timeout=10) as c:
        keeper = asyncio.create_task(_read_chats(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", [], 10**9))
        await asyncio.sleep(0.3)  # the room is open (and stays open: `keeper` reads it too)
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", srv.port))
        request = f"GET /v1/rooms/{FAKE_USER}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
        stalled.sendall(request.encode())  # and never reads a byte
        got: list[list[str]] = [[], []]
        try:
            url = f"{srv.url}/v1/rooms/{FAKE_USER}/events"
            readers = [asyncio.create_task(_read_chats(c, url, into, count)) for into in got]
            await _until_subscribers(c, srv, 4)  # the keeper, the stalled one, the two readers
            started = time.monotonic()
            for at in range(0, count, batch):
                script = [frames.msg([frames.chat(f"{i} {big}")]) for i in range(at, at + batch)]
                await asyncio.to_thread(fake.pusher.push, FAKE_ROOM_ID, script)
                deadline = time.monotonic() + 10
                while min(len(g) for g in got) < at + batch // 2:  # the readers keep getting every batch
                    assert time.monotonic() < deadline, f"readers stuck at {[len(g) for g in got]} of {at + batch}"
                    assert not any(r.done() and r.exception() for r in readers), [r.exception() for r in readers]
                    await asyncio.sleep(0.01)
            await asyncio.wait_for(asyncio.gather(*readers), 20)
            took = time.monotonic() - started
            metrics = (await c.get(f"{srv.url}/metrics")).text
        finally:
            stalled.close()
            keeper.cancel()
    assert got == [[str(i) for i in range(count)]] * 2
    assert took < 20, f"the readers took {took:.1f} s"
    dropped = next(x for x in metrics.splitlines() if x.startswith("ttsign_relay_dropped_events_total"))
    assert float(dropped.split()[-1]) >= 1, "the stalled subscriber was never cut off"


async def test_a_subscriber_that_never_reads_is_cut_off_with_a_reason_in_process(fake: FakeTikTok) -> None:
    settings = relay_settings(fake, relay_queue=8)
    client = TikTokClient(settings)
    hub = RelayHub(settings, client)
    try:
        reader = await hub.subscribe(FAKE_USER, owner="a")
        stalled = await hub.subscribe(FAKE_USER, owner="b")
        got = [await reader.next(3) for _ in range(6)]
        for i in range(20):  # a frame at a time: the reader keeps up, the stalled one does not read at all
            fake.pusher.push(FAKE_ROOM_ID, [frames.msg([frames.chat(f"n{i}")])])
            got.append(await reader.next(3))
        assert all(e is not None for e in got), (got, reader.end)
        assert got[-1] is not None and got[-1].data["text"] == "n19"
        assert stalled.end is not None and stalled.end[0] == 4009 and "TTSIGN_RELAY_QUEUE=8" in stalled.end[1]
        assert [e async for e in stalled] == []  # cut off: nothing more, at once
        assert hub.counters["cut_slow"] == 1 and hub.describe()["subscribers"] == 1
    finally:
        await hub.close()
        await client.close()
