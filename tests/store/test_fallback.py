"""Redis outages, against a real redis-server: stopped, restarted, slow (a delaying proxy), answering errors
(maxmemory reached). The fallback never raises and never waits beyond one bounded call, answers from a
local share of the limit, warns once per outage, keeps its metrics, probes with backoff, and goes back to
Redis once it answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.fakes.redis_server import DelayProxy, RedisServer
from ttsign.server import metrics
from ttsign.store.fallback import FallbackRateStore
from ttsign.store.redis import RedisRateStore

MINUTE = [("caller:rate_limit_minute", 10, 60.0)]


class Events:
    def __init__(self) -> None:
        self.ups: list[bool] = []
        self.fallbacks = 0
        self.errors: list[str] = []

    def up(self, is_up: bool) -> None:
        self.ups.append(is_up)

    def fallback(self) -> None:
        self.fallbacks += 1

    def error(self, kind: str) -> None:
        self.errors.append(kind)


def make(url: str, *, share: int = 2, timeout_s: float = 0.05, **kw: Any) -> tuple[FallbackRateStore, Events]:
    events = Events()
    store = FallbackRateStore(
        RedisRateStore(url, prefix="f:", timeout_s=timeout_s), share=share, events=events, retry_min_s=0.2, **kw
    )
    return store, events


async def takes(store: FallbackRateStore, n: int, now: float = 1.0) -> int:
    return sum([await store.take_all_async(MINUTE, now) == -1 for _ in range(n)])


@pytest.fixture
async def closing() -> AsyncIterator[list[FallbackRateStore]]:
    held: list[FallbackRateStore] = []
    yield held
    for s in held:
        await s.aclose()


async def test_redis_stopped_mid_load_falls_back_to_a_local_share_and_comes_back(
    redis: RedisServer, closing: list[FallbackRateStore]
) -> None:
    store, events = make(redis.url, share=2)
    closing.append(store)
    assert await takes(store, 4) == 4  # through Redis: 6 of 10 left there
    assert store.health()["status"] == "ok"
    redis.stop()
    with capture_logs() as logs:
        t0 = time.perf_counter()
        allowed = await takes(store, 20)
        elapsed = time.perf_counter() - t0
    assert allowed == 5  # the local share: ceil(10 / 2), not the whole limit, not an error
    assert elapsed < 1.0  # refused connections, then no call at all while the circuit is open
    assert [e["event"] for e in logs].count("store_unreachable") == 1  # once per outage, not per request
    assert events.ups == [True, False] and events.fallbacks == 20 and events.errors[0] == "connection"
    health = store.health()
    assert health["status"] == "degraded" and "connection" in health["reason"] and health["local_checks"] == 20
    assert "password" not in str(health) and health["url"] == redis.url
    redis.start()
    await asyncio.sleep(0.25)  # past the first retry (0.2 s in this test)
    with capture_logs() as logs:
        assert await takes(store, 12) == 10  # Redis again (restarted empty, no persistence): its whole limit
    assert [e["event"] for e in logs] == ["store_recovered"]
    assert store.health()["status"] == "ok" and events.ups == [True, False, True]


async def test_a_dead_redis_is_probed_with_backoff_not_on_every_request(closing: list[FallbackRateStore]) -> None:
    from tests.fakes.redis_server import free_port

    store, events = make(f"redis://127.0.0.1:{free_port()}/0", share=1, retry_max_s=0.4)
    closing.append(store)
    t_end = time.monotonic() + 1.0
    calls = 0
    while time.monotonic() < t_end:
        await store.take_all_async(MINUTE, 1.0)
        calls += 1
        await asyncio.sleep(0.005)
    assert calls > 40, calls
    # tries at 0, then 0.2 s, 0.4 s (the backoff doubles to its cap), 0.4 s: about 4 in a second, not `calls`
    assert 2 <= len(events.errors) <= 5, events.errors
    assert store.health()["status"] == "degraded"


async def test_a_slow_redis_times_out_in_milliseconds(redis: RedisServer, closing: list[FallbackRateStore]) -> None:
    with DelayProxy(redis.port, delay_s=0.0) as proxy:
        store, events = make(proxy.url, share=2, timeout_s=0.05)
        closing.append(store)
        assert await takes(store, 2) == 2
        proxy.delay_s = 0.5  # every answer now comes 0.5 s late
        t0 = time.perf_counter()
        decision = await store.take_all_async(MINUTE, 1.0)
        assert time.perf_counter() - t0 < 0.25  # the 50 ms timeout, not the 500 ms delay
        assert decision == -1 and events.errors == ["timeout"]
        assert "timeout" in store.health()["reason"]
        assert await takes(store, 10) == 4  # the local share (5), one used above
        proxy.delay_s = 0.0
        await asyncio.sleep(0.25)
        await store.take_all_async(MINUTE, 1.0)
        assert store.health()["status"] == "ok"


async def test_redis_answering_errors_falls_back(redis: RedisServer, closing: list[FallbackRateStore]) -> None:
    store, events = make(redis.url, share=1)
    closing.append(store)
    c = redis.client()
    c.config_set("maxmemory-policy", "noeviction")
    c.set("filler", "x" * 100_000)
    c.config_set("maxmemory", 1)  # every write, the script's included, is refused: OOM
    assert await takes(store, 12) == 10  # the local share: the whole limit with share 1
    assert events.errors[0] == "error" and "maxmemory" in store.health()["reason"]
    c.config_set("maxmemory", 0)
    await asyncio.sleep(0.25)
    assert await store.take_all_async(MINUTE, 1.0) == -1
    assert store.health()["status"] == "ok"


async def test_health_probes_in_the_background_so_it_sees_a_recovery_without_traffic(
    redis: RedisServer, closing: list[FallbackRateStore]
) -> None:
    store, _ = make(redis.url)
    closing.append(store)
    redis.stop()
    await store.take_all_async(MINUTE, 1.0)
    assert store.health()["status"] == "degraded"
    redis.start()
    await asyncio.sleep(0.25)
    store.health()  # starts the probe
    await asyncio.sleep(0.1)
    assert store.health()["status"] == "ok"


def test_store_metrics_are_exposed() -> None:
    events = metrics.StoreEvents()
    events.up(False)
    events.fallback()
    events.error("timeout")
    text = metrics.exposition().decode()
    assert "ttsign_store_up 0.0" in text and "ttsign_store_fallback_total" in text
    assert 'ttsign_store_errors_total{kind="timeout"}' in text
    events.up(True)
    assert "ttsign_store_up 1.0" in metrics.exposition().decode()


async def test_health_probes_a_redis_never_called_yet(closing: list[FallbackRateStore]) -> None:
    from tests.fakes.redis_server import free_port

    store, events = make(f"redis://127.0.0.1:{free_port()}/0")
    closing.append(store)
    assert store.health()["status"] == "ok"  # nothing known yet: this call starts a probe
    await asyncio.sleep(0.1)
    assert store.health()["status"] == "degraded" and events.errors == ["connection"]


def test_the_settings_give_the_share_and_a_bad_url_is_refused_without_its_password() -> None:
    from ttsign.config import Settings
    from ttsign.server.app import StoreError, make_store

    store = make_store(Settings(store="redis://127.0.0.1:1/0", instances=2, workers=3, store_timeout_ms=20))
    assert isinstance(store, FallbackRateStore) and store.share == 6 and store.local_capacity(50) == 9
    assert store.primary.timeout_s == 0.02 and store.primary.prefix == "ttsign:"
    with pytest.raises(StoreError) as refused:
        make_store(Settings(store="redis://:hunter2-secret@h:notaport/0"))
    assert "hunter2" not in str(refused.value) and "TTSIGN_STORE=redis://..." in str(refused.value)
