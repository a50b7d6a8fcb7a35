"""Every store operation, the same on the memory store and on a real Redis: token-bucket semantics
(take, peek, take_all all-or-nothing, refill, cost, unlimited), TTLs and the key prefix, Unix sockets,
and atomicity under concurrency (many asyncio tasks, several processes)."""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.redis_server import RedisServer
from ttsign.store.memory import MemoryRateStore
from ttsign.store.redis import RedisRateStore, shown_url


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemoryRateStore()
        return
    server: RedisServer = request.getfixturevalue("redis")
    s = RedisRateStore(server.url, prefix="t:", timeout_s=2.0)
    yield s
    await s.aclose()


async def test_take_counts_down_then_refuses_and_refills_evenly(store: Any) -> None:
    states = [await store.take_async("a", 3, 60.0, 1000.0) for _ in range(4)]
    assert [s.allowed for s in states] == [True, True, True, False]
    assert [s.remaining for s in states] == [2, 1, 0, 0]
    assert states[3].retry_after_s == pytest.approx(20.0)  # 3 tokens a minute: one every 20 s
    assert states[3].full_after_s == pytest.approx(60.0)
    assert not (await store.take_async("a", 3, 60.0, 1019.0)).allowed
    later = await store.take_async("a", 3, 60.0, 1020.0)
    assert later.allowed and later.remaining == 0
    peek = await store.peek_async("a", 3, 60.0, 1080.0)  # 60 s later: 3 tokens again (capped)
    assert peek.allowed and peek.remaining == 3 and peek.full_after_s == 0


async def test_cost_and_unlimited(store: Any) -> None:
    assert (await store.take_async("c", 10, 10.0, 5.0, cost=7)).remaining == 3
    refused = await store.take_async("c", 10, 10.0, 5.0, cost=4)
    assert not refused.allowed and refused.remaining == 3
    assert (await store.take_async("c", 10, 10.0, 5.0, cost=3)).allowed
    for _ in range(5):
        assert (await store.take_async("free", 0, 60.0, 5.0)).allowed  # capacity 0: no limit
    assert await store.take_all_async([("free", 0, 60.0), ("free2", 0, 1.0)], 5.0) == -1


async def test_take_all_is_all_or_nothing(store: Any) -> None:
    buckets = [("m", 5, 60.0), ("h", 2, 3600.0), ("d", 0, 86400.0)]
    assert await store.take_all_async(buckets, 100.0) == -1
    assert await store.take_all_async(buckets, 100.0) == -1
    assert await store.take_all_async(buckets, 100.0) == 1  # the hour is empty
    minute = await store.peek_async("m", 5, 60.0, 100.0)
    assert minute.remaining == 3  # the refused request took nothing from the minute either
    assert await store.take_all_async([("m", 5, 60.0)], 100.0) == -1
    assert (await store.peek_async("m", 5, 60.0, 100.0)).remaining == 2


async def test_a_clock_that_goes_back_refills_nothing(store: Any) -> None:
    for _ in range(2):
        await store.take_async("b", 2, 60.0, 500.0)
    assert not (await store.take_async("b", 2, 60.0, 400.0)).allowed  # another host's clock, 100 s behind
    assert not (await store.take_async("b", 2, 60.0, 500.0)).allowed  # and that did not move the bucket back


async def test_peek_of_an_unknown_key_is_a_full_bucket(store: Any) -> None:
    state = await store.peek_async("never", 4, 60.0, 1.0)
    assert state.allowed and state.remaining == 4 and state.retry_after_s == 0 and state.full_after_s == 0


async def test_every_key_is_prefixed_and_expires_when_full(redis: RedisServer) -> None:
    store = RedisRateStore(redis.url, prefix="pfx:", timeout_s=2.0)
    await store.take_all_async([("k:minute", 10, 60.0), ("k:day", 100, 86400.0)], 0.0)
    await store.take_async("solo", 4, 2.0, 0.0, cost=4)
    c = redis.client()
    keys = sorted(c.keys("*"))
    assert keys == ["pfx:rl:k:day", "pfx:rl:k:minute", "pfx:rl:solo"]
    # a bucket expires when it would be full again (+1 s): 1/10 of a minute, 1/100 of a day, 2 s
    assert 6_000 <= c.pttl("pfx:rl:k:minute") <= 7_000
    assert 864_000 <= c.pttl("pfx:rl:k:day") <= 865_000
    assert 2_000 <= c.pttl("pfx:rl:solo") <= 3_000
    assert all(c.pttl(k) > 0 for k in keys)  # nothing without a TTL
    await store.aclose()


async def test_a_unix_socket_url(redis: RedisServer) -> None:
    store = RedisRateStore(redis.unix_url, prefix="u:", timeout_s=2.0)
    assert (await store.take_async("x", 1, 60.0, 0.0)).allowed
    assert not (await store.take_async("x", 1, 60.0, 0.0)).allowed
    assert redis.client().exists("u:rl:x")
    assert shown_url("redis://user:secret@host:6380/2") == "redis://host:6380/2"
    assert "secret" not in shown_url("rediss://:secret@h/0?password=secret")
    await store.aclose()


async def test_many_tasks_take_exactly_the_capacity(redis: RedisServer) -> None:
    store = RedisRateStore(redis.url, prefix=f"c{uuid.uuid4().hex[:6]}:", timeout_s=5.0)
    buckets = [("caller:minute", 50, 60.0), ("caller:hour", 1000, 3600.0)]
    results = await asyncio.gather(*(store.take_all_async(buckets, 10.0) for _ in range(200)))
    assert results.count(-1) == 50 and results.count(0) == 150
    assert (await store.peek_async("caller:hour", 1000, 3600.0, 10.0)).remaining == 950
    await store.aclose()


def _process(url: str, prefix: str, n: int, out: Any) -> None:
    async def go() -> int:
        store = RedisRateStore(url, prefix=prefix, timeout_s=5.0)
        got = await asyncio.gather(*(store.take_all_async([("shared", 50, 3600.0)], 10.0) for _ in range(n)))
        await store.aclose()
        return got.count(-1)

    out.put(asyncio.run(go()))


def test_several_processes_take_exactly_the_capacity(redis: RedisServer) -> None:
    ctx = multiprocessing.get_context("fork")  # a fresh event loop in each child; fork starts in milliseconds
    out = ctx.Queue()
    procs = [ctx.Process(target=_process, args=(redis.url, "p:", 60, out)) for _ in range(4)]
    for p in procs:
        p.start()
    allowed = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(10)
    assert sum(allowed) == 50, allowed  # 240 takes from 4 processes, one bucket of 50
