"""The named lease on a real redis-server: one holder at a time among processes (two leases with their own
stores stand for two instances); a holder that stops renewing loses it after its TTL and another takes it
over; release hands it over at once; with Redis stopped the holder keeps it and nobody else gets it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from tests.fakes.redis_server import RedisServer
from ttsign.config import Settings
from ttsign.store.fallback import FallbackRateStore
from ttsign.store.lease import LocalLease, RedisLease, make_lease
from ttsign.store.redis import RedisRateStore

PREFIX = "lt:"


@pytest.fixture
async def leases() -> AsyncIterator[Callable[..., RedisLease]]:
    made: list[RedisLease] = []

    def make(url: str, name: str = "monitor", ttl_s: float = 0.6) -> RedisLease:
        store = FallbackRateStore(RedisRateStore(url, prefix=PREFIX, timeout_s=0.2), retry_min_s=0.1, retry_max_s=0.2)
        lease = RedisLease(store, name, ttl_s=ttl_s)
        made.append(lease)
        return lease

    yield make
    for lease in made:
        await lease.close()


async def test_one_holder_at_a_time(redis: RedisServer, leases: Callable[..., RedisLease]) -> None:
    a, b = leases(redis.url), leases(redis.url)
    assert await a.acquire() is True
    assert await b.acquire() is False
    assert await a.acquire() is True and a.taken == 1  # a renewal, not a new take
    assert await a.holder() == a.me
    other = leases(redis.url, name="something-else")
    assert await other.acquire() is True  # another name is another lease
    assert redis.client().pttl(PREFIX + "lease:monitor") > 0  # it expires by itself


async def test_a_holder_that_stops_renewing_is_taken_over(
    redis: RedisServer, leases: Callable[..., RedisLease]
) -> None:
    a, b = leases(redis.url, ttl_s=1.0), leases(redis.url, ttl_s=1.0)
    assert await a.acquire()
    await asyncio.sleep(0.2)
    assert await a.acquire() and not await b.acquire()  # renewed within its TTL: still a's
    await asyncio.sleep(1.2)  # a stopped renewing (died, hung)
    assert await b.acquire() is True and b.taken == 1
    assert await a.acquire() is False and a.held is False


async def test_release_hands_it_over_at_once(redis: RedisServer, leases: Callable[..., RedisLease]) -> None:
    a, b = leases(redis.url, ttl_s=30.0), leases(redis.url, ttl_s=30.0)
    assert await a.acquire() and not await b.acquire()
    await a.release()
    assert await b.acquire() is True
    await a.release()  # not held any more: b keeps it
    assert await b.holder() == b.me


async def test_redis_stopped_the_holder_keeps_it_nobody_else_gets_it(
    redis: RedisServer, leases: Callable[..., RedisLease]
) -> None:
    a, b = leases(redis.url), leases(redis.url)
    assert await a.acquire() and not await b.acquire()
    redis.stop()
    for _ in range(3):
        assert await a.acquire() is True
        assert await b.acquire() is False
        await asyncio.sleep(0.1)
    redis.start()
    redis.flush()  # the old key expired meanwhile
    await asyncio.sleep(0.25)  # past the stores' backoff
    got = [await a.acquire(), await b.acquire()]
    assert got == [True, False]  # the first to ask after the outage, and only one


async def test_local_and_the_factory() -> None:
    local = LocalLease("monitor")
    assert await local.acquire() is True and local.held
    await local.close()
    assert local.held is False
    assert isinstance(make_lease(Settings(store="memory"), "monitor"), LocalLease)


async def test_the_factory_makes_a_redis_lease(redis: RedisServer) -> None:
    lease = make_lease(Settings(store=redis.url, store_prefix=PREFIX), "monitor", ttl_s=5.0)
    try:
        assert isinstance(lease, RedisLease) and await lease.acquire()
        assert redis.client().get(PREFIX + "lease:monitor") == lease.me
    finally:
        await lease.close()
    assert redis.client().get(PREFIX + "lease:monitor") is None
