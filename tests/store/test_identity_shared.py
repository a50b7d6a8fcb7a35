"""The identity pool shared through a real redis-server (`SharedIdentityPool`, `ttsign.store.identities`):
two pools on one Redis stand for two instances (each its own connections, its own fallback state), their
identities issued by the offline TikTok (`fake`, which records every ttwid it issues).

Pacing is shared (an identity's connects across both pools never pass the limit, however many tasks),
one ttwid is fetched when both start empty (a lock; a dead holder's lock expires and the others fetch),
every key has a TTL within the identity's life and the connect logs are trimmed by time, a burn is seen
by the other instance, and a Redis outage falls back to the local pool (one warning, a metric, no 5xx-like
error, no wait) and goes back to Redis once it answers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.fakes.redis_server import RedisServer
from tests.fakes.tiktok import FakeTikTok
from ttsign.config import Settings
from ttsign.store.fallback import FallbackRateStore
from ttsign.store.identities import identity_id
from ttsign.store.redis import RedisRateStore
from ttsign.tiktok.http import Upstream
from ttsign.tiktok.identity_pool import (
    AnonIdentity,
    IdentityPool,
    IdentityUnavailable,
    SharedIdentityPool,
    TtwidIssuer,
    pool_for,
)

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
PREFIX = "idt:"


class Wall:
    """A wall clock that starts at the real time and can be moved forward (Redis's TTLs run in real time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Issue:
    """The real issuer against the fake, optionally slow (so both pools are empty at the same moment)."""

    def __init__(self, up: Upstream, fake: FakeTikTok, delay_s: float = 0.0) -> None:
        self.iss = TtwidIssuer(up, ttwid_url=fake.ttwid_url, www=fake.base_url, user_agent=UA)
        self.delay_s = delay_s
        self.calls = 0

    async def __call__(self) -> dict[str, str]:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return await self.iss.issue()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream(timeout_s=5.0)
    yield up
    await up.close()


@pytest.fixture
async def pools() -> AsyncIterator[Callable[..., SharedIdentityPool]]:
    made: list[SharedIdentityPool] = []

    def make(url: str, issue: Any, *, timeout_s: float = 0.5, wall: Callable[[], float] = time.time, **kw: Any):
        store = FallbackRateStore(RedisRateStore(url, prefix=PREFIX, timeout_s=timeout_s), retry_min_s=0.2)
        pool = SharedIdentityPool(issue, store=store, wall=wall, timeout_s=5.0, poll_s=0.02, **kw)
        made.append(pool)
        return pool

    yield make
    for p in made:
        await p.close()


def issued(fake: FakeTikTok) -> int:
    return len(fake.state()["issued"]["ttwid"])


async def acquire_all(pools: list[SharedIdentityPool], n: int) -> list[AnonIdentity | BaseException]:
    return await asyncio.gather(*(pools[i % len(pools)].acquire() for i in range(n)), return_exceptions=True)


async def test_connects_per_identity_never_exceed_the_limit_across_two_instances(
    redis: RedisServer, fake: FakeTikTok, upstream: Upstream, pools: Callable[..., SharedIdentityPool]
) -> None:
    """80 concurrent connects over two instances, 2 identities of 5 connects each: exactly 10 go through, no
    identity is handed out more than 5 times, the rest are told `pace` with a wait."""
    issue = Issue(upstream, fake)
    a, b = (pools(redis.url, issue, connects_per_hour=5, max_identities=2) for _ in range(2))
    results = await acquire_all([a, b], 80)
    got = [r for r in results if isinstance(r, AnonIdentity)]
    refused = [r for r in results if isinstance(r, IdentityUnavailable)]
    per_ttwid = Counter(i.ttwid for i in got)
    assert len(got) == 10 and len(refused) == 70, (per_ttwid, [r for r in results if not isinstance(r, AnonIdentity)])
    assert len(per_ttwid) == 2 and max(per_ttwid.values()) == 5, per_ttwid
    assert all(r.reason == "pace" and r.retry_after_s > 3000 for r in refused)
    assert issued(fake) == 2  # one fetch per identity, whichever instance made it
    r = redis.client()
    assert sorted(r.zcard(f"{PREFIX}id:c:{identity_id(t)}") for t in per_ttwid) == [5, 5]
    # both instances see the shared figures (as of each one's latest take: concurrent takes can come back out of
    # order, so each instance makes one more, refused, take first)
    for pool in (a, b):
        with pytest.raises(IdentityUnavailable):
            await pool.acquire()
    assert (
        a.stats()["connects_left"] == 0
        and b.stats()["connects_left"] == 0
        and b.stats()["identities"] == 2
        and b.stats()["store"] == "shared"
    )


async def test_one_ttwid_fetch_when_both_instances_start_empty_at_once(
    redis: RedisServer, fake: FakeTikTok, upstream: Upstream, pools: Callable[..., SharedIdentityPool]
) -> None:
    issue = Issue(upstream, fake, delay_s=0.2)  # the fetch takes a while: both pools find the store empty
    a, b = (pools(redis.url, issue, connects_per_hour=100) for _ in range(2))
    results = await acquire_all([a, b], 20)
    assert all(isinstance(r, AnonIdentity) for r in results), results
    assert len({r.ttwid for r in results if isinstance(r, AnonIdentity)}) == 1
    assert issue.calls == 1 and issued(fake) == 1
    assert redis.client().exists(f"{PREFIX}id:lock") == 0  # released after the fetch


async def test_a_dead_lock_holder_delays_the_others_only_until_its_lock_expires(
    redis: RedisServer, fake: FakeTikTok, upstream: Upstream, pools: Callable[..., SharedIdentityPool]
) -> None:
    redis.client().set(f"{PREFIX}id:lock", "an instance that died mid-fetch", px=400)
    pool = pools(redis.url, Issue(upstream, fake))
    started = time.monotonic()
    ident = await pool.acquire()
    waited = time.monotonic() - started
    assert fake.ttwid_is_issued(ident.ttwid) and issued(fake) == 1
    assert 0.3 <= waited < 2.0, waited


async def test_every_key_has_a_ttl_within_the_identity_life_and_connect_logs_are_trimmed_by_time(
    redis: RedisServer, fake: FakeTikTok, upstream: Upstream, pools: Callable[..., SharedIdentityPool]
) -> None:
    wall = Wall()
    a = pools(redis.url, Issue(upstream, fake), wall=wall, ttl_s=7200, connects_per_hour=3, max_identities=2)
    for _ in range(6):
        await a.acquire()
    r = redis.client()
    keys = r.keys(f"{PREFIX}*")
    assert {k.split(":")[2] for k in keys} == {"idx", "h", "c"} and len(keys) == 5, keys
    for k in keys:
        assert 7_190_000 < r.pttl(k) <= 7_200_000, (k, r.pttl(k))
    assert all(not k.startswith(PREFIX + "rl:") for k in keys)
    wall.offset = 3600.5  # an hour later: every connect has left the window, the logs are trimmed on the take
    await a.acquire()
    counts = sorted(r.zcard(k) for k in r.keys(f"{PREFIX}id:c:*"))
    assert counts == [0, 1] or counts == [1], counts  # an emptied sorted set is gone from Redis
    wall.offset = 7200.5  # both identities have expired: the next take drops them and fetches a fresh one
    fresh = await a.acquire()
    assert issued(fake) == 3 and r.zcard(f"{PREFIX}id:idx") == 1
    assert r.zrange(f"{PREFIX}id:idx", 0, -1) == [identity_id(fresh.ttwid)]


async def test_a_burned_identity_is_dropped_for_every_instance(
    redis: RedisServer, fake: FakeTikTok, upstream: Upstream, pools: Callable[..., SharedIdentityPool]
) -> None:
    issue = Issue(upstream, fake)
    a, b = (pools(redis.url, issue) for _ in range(2))
    first = await a.acquire()
    assert (await b.acquire()).ttwid == first.ttwid
    a.burn(first)
    await asyncio.sleep(0.1)  # the burn is sent to the store in the background
    assert redis.client().exists(f"{PREFIX}id:h:{identity_id(first.ttwid)}") == 0
    assert (await b.acquire()).ttwid != first.ttwid and issued(fake) == 2


async def test_redis_stopped_falls_back_to_local_identities_and_comes_back(
    redis: RedisServer, fake: FakeTikTok, upstream: Upstream, pools: Callable[..., SharedIdentityPool]
) -> None:
    pool = pools(redis.url, Issue(upstream, fake), timeout_s=0.1, connects_per_hour=100)
    shared = await pool.acquire()
    assert pool.stats()["store"] == "shared"
    redis.stop()
    with capture_logs() as logs:
        timings = []
        for _ in range(5):
            started = time.monotonic()
            ident = await pool.acquire()  # never an error, never more than one bounded store call
            timings.append(time.monotonic() - started)
            assert ident.shared_id is None and fake.ttwid_is_issued(ident.ttwid)
    assert max(timings) < 1.0, timings
    warnings = [e for e in logs if e["event"] == "identity_pool_local"]
    assert len(warnings) == 1, logs  # once per outage, not per acquire
    assert shared.ttwid not in str(logs) and "ttwid" not in {k for e in logs for k in e}  # no cookie logged
    assert pool.stats()["store"] == "local" and pool.local_acquires == 5
    assert issued(fake) == 2  # the local pool fetched its own identity once and reused it
    redis.start()  # back, empty (no persistence)
    deadline = time.monotonic() + 3.0  # the fallback retries after 0.2 s, doubling up to 2 s
    back = await pool.acquire()
    while back.shared_id is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        back = await pool.acquire()
    assert back.shared_id is not None and pool.stats()["store"] == "shared"
    assert redis.client().zcard(f"{PREFIX}id:idx") == 1


async def test_the_local_fallback_metric_counts_acquires(fake: FakeTikTok, upstream: Upstream) -> None:
    from ttsign.server import metrics

    settings = Settings(store="redis://127.0.0.1:1/0", store_timeout_ms=50, store_prefix=PREFIX)
    pool = pool_for(settings, IdentityPool(Issue(upstream, fake), timeout_s=5.0))
    try:
        assert isinstance(pool, SharedIdentityPool)
        before = metrics.REGISTRY.get_sample_value("ttsign_identity_pool_local_total") or 0.0
        await pool.acquire()
        await pool.acquire()
        assert metrics.REGISTRY.get_sample_value("ttsign_identity_pool_local_total") == before + 2
    finally:
        await pool.close()


def test_the_memory_store_keeps_the_in_process_pool() -> None:
    pool = IdentityPool(lambda: asyncio.sleep(0, {"ttwid": "x"}))
    assert pool_for(Settings(store="memory"), pool) is pool
