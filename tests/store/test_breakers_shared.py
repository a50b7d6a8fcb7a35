"""Provider breakers shared through a real redis-server (`ttsign.store.breakers.SharedBreakers`): two chains
on one Redis stand for two instances (each its own providers, connections and fallback state).

An open on A is seen on B within about a second (B skips the provider meanwhile), with its TTL; the
half-open probe is one across both, and its success closes both; a failed probe re-opens both; with
Redis stopped each chain's breakers work locally (no hang, answers from the next provider, one warning)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.fakes.redis_server import RedisServer
from tests.providers.chain_doubles import Scripted, job
from ttsign.providers.breaker import BreakerPolicy
from ttsign.providers.chain import ProviderChain
from ttsign.store.breakers import SharedBreakers
from ttsign.store.fallback import FallbackRateStore
from ttsign.store.redis import RedisRateStore

PREFIX = "brt:"
INTERVAL = 0.2


class Instance:
    def __init__(self, url: str, policy: BreakerPolicy, *, share: bool = True) -> None:
        self.sick = Scripted("remote", "unavailable")
        self.backup = Scripted("native")
        self.chain = ProviderChain([self.sick, self.backup], breaker=policy, deadlines={"remote": 5.0})
        self.shared: SharedBreakers | None = None
        if share:
            store = FallbackRateStore(RedisRateStore(url, prefix=PREFIX, timeout_s=0.2), retry_min_s=0.2)
            self.shared = SharedBreakers.attach(self.chain, store, interval_s=INTERVAL, lease_s=3.0, margin_s=2.0)

    @property
    def breaker(self) -> Any:
        return self.chain.breakers["remote"]

    async def sign(self) -> str:
        return (await self.chain.sign(job())).provider


@pytest.fixture
async def instances() -> AsyncIterator[Callable[..., Instance]]:
    made: list[Instance] = []

    def make(url: str, policy: BreakerPolicy, **kw: Any) -> Instance:
        inst = Instance(url, policy, **kw)
        made.append(inst)
        return inst

    yield make
    for inst in made:
        await inst.chain.close()


async def until(check: Callable[[], bool], within_s: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within_s:
            raise AssertionError(f"not within {within_s} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_open_on_one_is_open_on_the_other_with_its_ttl(redis: RedisServer, instances: Any) -> None:
    policy = BreakerPolicy(failures=2, cooldown_s=30.0)
    a, b = instances(redis.url, policy), instances(redis.url, policy)
    await a.chain.start()
    await b.chain.start()
    assert [await a.sign(), await a.sign()] == ["native", "native"]
    assert a.breaker.state == "open"
    took = await until(lambda: b.breaker.state == "open", 1.2)
    assert took < 1.2
    assert 28.0 < b.breaker.next_probe_in() <= 30.0  # the same cooldown, not a fresh one
    for _ in range(5):
        assert await b.sign() == "native"
    assert b.sick.calls == 0  # B never called the sick provider while it was open
    ttl_ms = redis.client().pttl(PREFIX + "br:remote")
    assert 28_000 < ttl_ms <= 32_000  # the remaining cooldown plus the 2 s margin
    assert list(redis.client().keys("*")) == [PREFIX + "br:remote"]


async def test_one_probe_across_instances_and_its_success_closes_both(redis: RedisServer, instances: Any) -> None:
    policy = BreakerPolicy(failures=2, cooldown_s=0.5)
    a, b = instances(redis.url, policy), instances(redis.url, policy)
    await a.chain.start()
    await b.chain.start()
    await a.sign()
    await a.sign()
    await until(lambda: b.breaker.state == "open", 1.2)
    calls: list[tuple[str, float]] = []
    for name, inst in (("a", a), ("b", b)):
        inst.sick.mode, inst.sick.hang_s = "hang", 0.6  # the probe takes 0.6 s, then signs
        inst.sick.on_sign = lambda _job, n=name: calls.append((n, time.monotonic()))
    await asyncio.sleep(0.6)  # the cooldown is over on both
    tasks = []
    for _ in range(60):  # 1.2 s of callers on both instances
        tasks += [asyncio.create_task(a.sign()), asyncio.create_task(b.sign())]
        await asyncio.sleep(0.02)
    answers = await asyncio.gather(*tasks)
    assert calls, "nobody probed"
    first = calls[0][1]
    during = [c for c in calls if c[1] < first + 0.55]
    assert len(during) == 1, f"more than one probe across the instances: {calls[:5]}"
    assert "remote" in answers
    await until(lambda: a.breaker.state == "closed" and b.breaker.state == "closed", 1.2)
    assert not redis.client().exists(PREFIX + "br:remote:probe")  # released with the verdict
    closed_ttl = redis.client().pttl(PREFIX + "br:remote")
    assert 0 < closed_ttl <= 60_000


async def test_probe_lease_has_a_ttl_and_a_failed_probe_reopens_both(redis: RedisServer, instances: Any) -> None:
    policy = BreakerPolicy(failures=2, cooldown_s=0.4)
    a, b = instances(redis.url, policy), instances(redis.url, policy)
    await a.chain.start()
    await b.chain.start()
    await a.sign()
    await a.sign()
    await until(lambda: b.breaker.state == "open", 1.2)
    await asyncio.sleep(0.5)
    assert await a.sign() == "native"  # half-open: asks for the lease, skips the provider meanwhile
    await until(lambda: redis.client().exists(PREFIX + "br:remote:probe") == 1, 1.0)
    assert 0 < redis.client().pttl(PREFIX + "br:remote:probe") <= 3_000
    assert a.sick.calls == 2
    await a.sign()  # the probe, which fails: open again, for twice as long
    assert a.breaker.state == "open" and a.breaker.cooldown_s == 0.8
    await until(lambda: b.breaker.state == "open" and b.breaker.cooldown_s == 0.8, 1.2)
    assert b.sick.calls == 0


async def test_redis_stopped_breakers_work_locally_with_one_warning(redis: RedisServer, instances: Any) -> None:
    policy = BreakerPolicy(failures=2, cooldown_s=30.0)
    a, b = instances(redis.url, policy), instances(redis.url, policy)
    await a.chain.start()
    await b.chain.start()
    await asyncio.sleep(INTERVAL * 2)
    redis.stop()
    with capture_logs() as logs:
        started = time.monotonic()
        for _ in range(4):
            assert await a.sign() == "native"  # never an error, never a wait
        assert time.monotonic() - started < 1.0
        assert a.breaker.state == "open"
        assert a.sick.calls == 2
        await asyncio.sleep(1.0)  # several rounds against a dead Redis
        assert b.breaker.state == "closed"  # nothing to share: B keeps its own breaker
        assert await b.sign() == "native" and b.sick.calls == 1
    warnings = [e for e in logs if e.get("event") == "breakers_local"]
    assert len(warnings) == 2  # one per instance, once for the outage
    assert a.shared is not None and a.shared.local_rounds > 1


def test_the_app_shares_breakers_only_with_a_redis_store(redis: RedisServer) -> None:
    from ttsign.config import Settings
    from ttsign.server.app import make_chain
    from ttsign.signing.signer import Signer, SignerOptions

    shared = make_chain(Settings(store=redis.url, store_prefix=PREFIX), Signer(SignerOptions()))
    assert [type(c) for c in shared.companions] == [SharedBreakers]
    assert make_chain(Settings(), Signer(SignerOptions())).companions == []


async def test_an_open_made_during_an_outage_is_shared_once_redis_is_back(redis: RedisServer, instances: Any) -> None:
    policy = BreakerPolicy(failures=2, cooldown_s=30.0)
    a, b = instances(redis.url, policy), instances(redis.url, policy)
    await a.chain.start()
    await b.chain.start()
    await asyncio.sleep(INTERVAL * 2)
    redis.stop()
    await a.sign()
    await a.sign()
    assert a.breaker.state == "open"
    await asyncio.sleep(INTERVAL * 3)
    assert b.breaker.state == "closed"
    redis.start()
    await until(lambda: b.breaker.state == "open", 3.0)  # the store's retry (0.2-0.4 s), then one round
    assert 25.0 < b.breaker.next_probe_in() <= 30.0
