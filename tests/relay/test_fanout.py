"""Fan-out: 100 subscribers of one room share one upstream socket (the fake counts them); a stalled subscriber
is cut off with a reason and never delays the others."""

from __future__ import annotations

import asyncio
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


async def test_a_stalled_http_subscriber_is_cut_off_and_the_others_are_not_delayed(
    relay_server: Callable[..., ServerThread], fake: FakeTikTok
) -> None:
    srv = relay_server(relay_queue=128)
    big = "x" * 8000
    count, batch = 1000, 100  # ~8 MB: more than the stalled socket's kernel buffers (4 MB here) and queue hold
    async with httpx.AsyncClient(timeout=10) as c:
        await sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events", 1)  # the room is open
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", srv.port))
        request = f"GET /v1/rooms/{FAKE_USER}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
        stalled.sendall(request.encode())  # and never reads a byte
        try:
            readers = [
                asyncio.create_task(sse_events(c, f"{srv.url}/v1/rooms/{FAKE_USER}/events?after=6", count))
                for _ in range(2)
            ]
            await asyncio.sleep(0.3)
            started = time.monotonic()
            for at in range(0, count, batch):
                script = [frames.msg([frames.chat(f"{i} {big}")]) for i in range(at, at + batch)]
                await asyncio.to_thread(fake.pusher.push, FAKE_ROOM_ID, script)
            results = await asyncio.wait_for(asyncio.gather(*readers), 20)
            took = time.monotonic() - started
            metrics = (await c.get(f"{srv.url}/metrics")).text
        finally:
            stalled.close()
    assert [len(got) for got in results] == [count] * 2
    assert all([e[2]["data"]["text"].split()[0] for e in got] == [str(i) for i in range(count)] for got in results)
    assert took < 10, f"the readers took {took:.1f} s"
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
