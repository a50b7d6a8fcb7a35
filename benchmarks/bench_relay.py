"""The relay's fan-out: events per second from one upstream socket to N subscribers (1, 10, 100, 1,000), latency
from the frame leaving TikTok (the offline fake) to each subscriber, and memory per subscriber.

Set-up: the offline fake TikTok in its own thread and loop (as in the tests); ttsign's `RelayHub` in this
process's loop with a real `TikTokClient` (room lookup, identity, direct socket, acks, heartbeats); N
subscribers, each an `async for` over its `Subscription` (what the SSE and WebSocket routes do before writing to
their clients). One room, so one upstream socket whatever N (checked: the fake counts the room's sockets).

* throughput: `FRAMES` `msg` frames, one chat each, sent by the fake as fast as it can; the time from the first
  send to the last subscriber holding the last event. `events/s` is events through the room per second (each
  delivered N times: `deliveries/s`).
* latency: `PACED` frames at `PACED_RATE` frames/s (a busy LIVE room is tens per second), each carrying the
  fake's `perf_counter_ns()` at send time; per delivery, the subscriber's clock at receipt minus that (one
  process, one monotonic clock), p50 and p99 over every delivery.
* memory: `tracemalloc` growth from subscribing N more subscribers with their consumer tasks, per subscriber
  (idle; a subscriber's queue holds references to shared events, ~8 bytes each while it lags).

`python -m benchmarks bench_relay` runs it alone (`make bench` runs it with the others).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

CASES: list[tuple[str, Callable[[], object]]] = []  # everything is in report()
SIZES = (1, 10, 100, 1000)
FRAMES = 2000
PACED = 200
PACED_RATE = 50.0
ROOM_USER = "benchuser"
ROOM_ID = "7451234567890129999"


async def _consume(sub: Any, want: int, done: asyncio.Event, counts: list[int], lat: list[int] | None) -> None:
    got = 0
    async for event in sub:
        if event.type != "chat":
            continue
        got += 1
        if lat is not None:
            lat.append(time.perf_counter_ns() - int(event.data["text"]))
        if got >= want:
            break
    counts.append(got)
    done.set()


async def _blast(fake: Any, frames_: list[bytes]) -> None:
    await fake.pusher.push_async(ROOM_ID, frames_)


async def _paced(fake: Any, n: int, rate: float) -> None:
    from tests.fakes import frames

    gap = 1.0 / rate
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(n):
        await fake.pusher.push_async(ROOM_ID, [frames.msg([frames.chat(str(time.perf_counter_ns()))])])
        delay = start + (i + 1) * gap - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)


async def _round(hub: Any, fake: Any, n: int) -> dict[str, float]:
    from tests.fakes import frames

    subs = [await hub.subscribe(ROOM_USER, owner=f"bench{i % 50}") for i in range(n)]
    fake_loop = fake.pusher.loop
    assert fake.pusher.count(ROOM_ID) == 1, "one upstream socket for the room"
    # throughput
    counts: list[int] = []
    done = asyncio.Event()
    tasks = [asyncio.create_task(_consume(s, FRAMES, done, counts, None)) for s in subs]
    blob = [frames.msg([frames.chat("x" * 40)]) for _ in range(FRAMES)]
    t0 = time.perf_counter()
    fut = asyncio.run_coroutine_threadsafe(_blast(fake, blob), fake_loop)
    await asyncio.gather(*tasks)
    took = time.perf_counter() - t0
    fut.result(10)
    cut = sum(1 for s in subs if s.end is not None)
    for s in subs:
        s.close()
    # latency
    subs = [await hub.subscribe(ROOM_USER, owner=f"bench{i % 50}") for i in range(n)]
    lat: list[int] = []
    counts = []
    tasks = [asyncio.create_task(_consume(s, PACED, done, counts, lat)) for s in subs]
    fut = asyncio.run_coroutine_threadsafe(_paced(fake, PACED, PACED_RATE), fake_loop)
    await asyncio.gather(*tasks)
    fut.result(30)
    cut += sum(1 for s in subs if s.end is not None and s.end[0] != 1000)
    for s in subs:
        s.close()
    lat.sort()
    return {
        "events_s": FRAMES / took,
        "deliveries_s": FRAMES * n / took,
        "p50_us": statistics.median(lat) / 1000,
        "p99_us": lat[int(len(lat) * 0.99) - 1] / 1000,
        "cut": cut,
        "min_got": min(counts),
    }


async def _memory(hub: Any, n: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    subs = [await hub.subscribe(ROOM_USER, owner=f"mem{i % 50}") for i in range(n)]
    tasks = [asyncio.create_task(_drain(s)) for s in subs]
    await asyncio.sleep(0.05)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    for s in subs:
        s.close()
    await asyncio.gather(*tasks)
    return grown / n


async def _drain(sub: Any) -> None:
    async for _ in sub:
        pass


async def _main() -> list[tuple[int, dict[str, float]]]:
    from tests.fakes.tiktok import DEFAULT_USERS, FakeTikTok, FakeUser
    from tests.relay.conftest import relay_settings
    from ttsign.relay.hub import RelayHub
    from ttsign.server import logs
    from ttsign.tiktok.client import TikTokClient

    logs.configure("warning", True)
    user = FakeUser(ROOM_USER, "6812345678901239999", ROOM_ID, "Bench Streamer")
    fake = FakeTikTok(users=(*DEFAULT_USERS, user)).start()
    settings = relay_settings(fake, relay_subscribers_per_key=10_000, relay_queue=FRAMES + 100, relay_grace_s=60)
    client = TikTokClient(settings)
    hub = RelayHub(settings, client)
    rows = []
    try:
        keep = await hub.subscribe(ROOM_USER, owner="keeper")  # the room stays open across rounds
        for n in SIZES:
            rows.append((n, await _round(hub, fake, n)))
        mem = await _memory(hub, 1000)
        rows.append((0, {"mem_b": mem, "sockets": float(fake.pusher.count(ROOM_ID))}))
        keep.close()
    finally:
        await hub.close()
        await client.close()
        fake.stop()
    return rows


def report() -> None:
    rows = asyncio.run(_main())
    print(f"  relay fan-out: {FRAMES} frames blasted (1 chat each), then {PACED} paced at {PACED_RATE:g}/s")
    print(f"  {'subscribers':>11} {'events/s':>10} {'deliveries/s':>13} {'p50 us':>9} {'p99 us':>9} {'cut off':>8}")
    for n, r in rows:
        if n == 0:
            print(f"  memory per idle subscriber (1,000, with its consumer task): {r['mem_b']:.0f} bytes")
            print(f"  upstream sockets for the room at the end: {int(r['sockets'])}")
            continue
        print(
            f"  {n:>11} {r['events_s']:>10.0f} {r['deliveries_s']:>13.0f} {r['p50_us']:>9.0f} {r['p99_us']:>9.0f}"
            f" {int(r['cut']):>8}"
        )


if __name__ == "__main__":
    report()
