"""The monitor in the server: `install` builds the state, and with TTSIGN_MONITOR_INTERVAL a background loop
that runs cycles with jitter from the app's lifespan and stops with it; a failing cycle does not stop the
loop; with a Redis store only the lease holder runs cycles, and another instance takes over when it stops."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from starlette.testclient import TestClient

from tests.fakes.redis_server import RedisServer
from tests.fakes.tiktok import FakeTikTok
from tests.store.conftest import redis, redis_server  # noqa: F401  (the real redis-server fixtures)
from ttsign.config import Settings
from ttsign.monitor import service
from ttsign.monitor.state import MonitorState
from ttsign.server.app import create_app
from ttsign.store.fallback import FallbackRateStore
from ttsign.store.lease import LocalLease, RedisLease
from ttsign.store.redis import RedisRateStore


async def until(ok: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ok():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_install_without_an_interval_only_builds_the_state() -> None:
    s = SimpleNamespace(settings=Settings(monitor_history=7), monitor=None)
    assert service.install(s) == []
    assert isinstance(s.monitor, MonitorState) and s.monitor.cycles.maxlen == 7


def test_the_server_runs_cycles_in_the_background_and_stops_with_it(fake: FakeTikTok) -> None:
    settings = Settings(
        log_level="warning",
        tiktok_www=fake.base_url,
        ttwid_url=fake.ttwid_url,
        webcast_url=fake.webcast_url,
        ws_url=fake.ws_url,
        upstream_timeout_s=1.0,
        monitor_interval_s=0.3,
    )
    app = create_app(settings)
    state = app.state.services.monitor
    assert isinstance(state, MonitorState)
    with TestClient(app):
        deadline = time.monotonic() + 8
        while len(state.cycles) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(state.cycles) >= 2 and state.running is True
        names = [c.name for c in state.cycles[-1].checks]
        assert names == ["agreement", "sdk_build", "player", "live_probe"]
        by = {c.name: c for c in state.cycles[-1].checks}
        assert by["agreement"].outcome == "skipped" and by["live_probe"].outcome == "skipped"
        starts = [c.started for c in state.cycles]
    assert state.running is False
    done = len(state.cycles)
    time.sleep(0.5)
    assert len(state.cycles) == done  # the loop stopped with the app
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(g >= 0.25 for g in gaps), gaps  # an interval (minus jitter) apart, not back to back


def test_the_jitter_stays_within_ten_percent() -> None:
    loop = service.MonitorLoop(SimpleNamespace(), 100.0, lease=LocalLease("m"), rng=random.Random(3))
    delays = [loop.next_delay() for _ in range(200)]
    assert 90.0 <= min(delays) < 95.0 and 105.0 < max(delays) <= 110.0


async def test_a_failing_cycle_does_not_stop_the_loop() -> None:
    calls = 0

    async def flaky(_s: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in a check")

    loop = service.MonitorLoop(
        SimpleNamespace(monitor=MonitorState()), 0.05, lease=LocalLease("m"), first_delay_s=0.0, run=flaky
    )
    await loop.start()
    await until(lambda: loop.cycles >= 2)
    await loop.close()
    assert loop.errors == 1 and loop.cycles >= 2


async def test_with_redis_one_instance_runs_cycles_and_another_takes_over(redis: RedisServer) -> None:  # noqa: F811
    ran: dict[str, int] = {"a": 0, "b": 0}

    def instance(name: str) -> service.MonitorLoop:
        async def count(_s: Any) -> None:
            ran[name] += 1

        store = FallbackRateStore(RedisRateStore(redis.url, prefix="mst:", timeout_s=0.2), retry_min_s=0.1)
        lease = RedisLease(store, service.LEASE_NAME, ttl_s=2.0)  # renewed every 0.05 s: a loaded machine keeps it
        return service.MonitorLoop(
            SimpleNamespace(monitor=MonitorState()), 0.05, lease=lease, first_delay_s=0.0, tick_s=0.05, run=count
        )

    a, b = instance("a"), instance("b")
    await a.start()
    await until(lambda: ran["a"] >= 1)
    await b.start()
    await until(lambda: ran["a"] >= 6)
    assert ran["b"] == 0  # one holder
    assert a.services.monitor.running is True and b.services.monitor.running is False
    await a.close()  # the holder stops (and releases): b takes over
    try:
        await until(lambda: ran["b"] >= 2)
        assert b.services.monitor.running is True
    finally:
        await b.close()
