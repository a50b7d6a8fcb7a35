"""The maintenance flag shared through a real redis-server (`ttsign.store.flags`): two apps on one Redis stand
for two instances. A switch on A is in force on B within about a second; with Redis stopped each keeps its
last known state (no hang, no error), a switch made meanwhile applies where it was made and reaches the other
once Redis is back; the newest switch wins."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from tests.fakes.redis_server import RedisServer
from ttsign.server.app import create_app

ADMIN = "admin-key-for-tests-0123456789abcdef"
PREFIX = "flagt:"
URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30"
MESSAGE = "Upgrading the signer, back in ten minutes"


@pytest.fixture
def instances(redis: RedisServer) -> Iterator[Callable[[], TestClient]]:
    made: list[TestClient] = []

    def make() -> TestClient:
        settings = make_settings(admin_keys=ADMIN, store=redis.url, store_prefix=PREFIX, store_timeout_ms=200)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        made.append(client)
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)


def switch(client: TestClient, enabled: bool, message: str = MESSAGE) -> Any:
    body: dict[str, Any] = {"enabled": enabled, "message": message}
    r = client.post("/v1/admin/maintenance", headers={"X-Admin-Key": ADMIN}, json=body)
    assert r.status_code == 200, r.text
    return r.json()["maintenance"]


def signing(client: TestClient) -> int:
    return client.post("/v1/sign", json={"url": URL}).status_code


def until(check: Callable[[], bool], within_s: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within_s:
            raise AssertionError(f"not within {within_s} s")
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_switch_on_one_instance_is_in_force_on_the_other(redis: RedisServer, instances: Any) -> None:
    a, b = instances(), instances()
    assert signing(a) == 200 and signing(b) == 200
    assert switch(a, True)["store"] == "shared"
    stored = json.loads(redis.client().get(PREFIX + "flag:maintenance"))
    assert (
        stored["enabled"] is True
        and stored["message"] == MESSAGE
        and redis.client().ttl(PREFIX + "flag:maintenance") == -1
    )
    took = until(lambda: signing(b) == 503, 2.0)
    assert took < 1.6, took
    r = b.post("/v1/sign", json={"url": URL})
    assert r.json()["message"] == MESSAGE
    assert b.get("/health").json()["maintenance"]["enabled"] is True
    switch(b, False)  # off from the other side
    until(lambda: signing(a) == 200, 2.0)


def test_with_redis_down_each_keeps_its_last_state_and_a_switch_meanwhile_reaches_the_other_later(
    redis: RedisServer, instances: Any
) -> None:
    a, b = instances(), instances()
    switch(a, True)
    until(lambda: signing(b) == 503, 2.0)
    redis.stop()
    started = time.monotonic()
    assert signing(b) == 503 and signing(a) == 503  # the last known state, without waiting on Redis
    assert time.monotonic() - started < 1.0
    until(lambda: b.get("/health").json()["maintenance"]["store"] == "last_known", 3.0)
    assert switch(a, False)["enabled"] is False  # made while Redis is down: applies here at once
    assert signing(a) == 200
    time.sleep(1.2)
    assert signing(b) == 503  # b cannot know yet
    redis.start()
    until(lambda: signing(b) == 200, 5.0)  # a publishes its switch once Redis answers; b reads it
    assert json.loads(redis.client().get(PREFIX + "flag:maintenance"))["enabled"] is False


def test_an_older_switch_never_replaces_a_newer_one(redis: RedisServer, instances: Any) -> None:
    a = instances()
    switch(a, True)
    key = PREFIX + "flag:maintenance"
    newer = json.loads(redis.client().get(key))
    newer.update(enabled=False, at=newer["at"] + 1000)
    redis.client().set(key, json.dumps(newer))  # a newer switch, made elsewhere
    until(lambda: signing(a) == 200, 2.0)
    state = a.app.state.services.maintenance  # type: ignore[attr-defined]
    assert state.current.enabled is False


async def test_a_demotion_on_one_instance_reorders_the_other(redis: RedisServer) -> None:
    """Only the monitor lease's holder sees a drift: every other process's chain must follow its demotion."""
    import asyncio
    from types import SimpleNamespace

    from tests.providers.chain_doubles import Scripted
    from ttsign.monitor.bus import EventBus
    from ttsign.monitor.maintenance import MaintenanceFlag
    from ttsign.monitor.mitigation import Mitigation
    from ttsign.monitor.model import Event
    from ttsign.providers.chain import ProviderChain
    from ttsign.store.fallback import FallbackRateStore
    from ttsign.store.flags import SharedFlags
    from ttsign.store.redis import RedisRateStore

    made = []
    for _ in range(2):
        shared = SharedFlags(FallbackRateStore(RedisRateStore(redis.url, prefix=PREFIX, timeout_s=0.2)))
        bus = EventBus()
        svc = SimpleNamespace(events=bus, providers=ProviderChain([Scripted("native"), Scripted("browser")]))
        svc.maintenance = MaintenanceFlag(shared, emit=bus.emit, refresh_s=0.2)
        mitigation = Mitigation(svc, shared=shared)
        assert mitigation.order is not None
        mitigation.order.refresh_s = 0.2
        bus.subscribe(mitigation.on_event)
        await svc.maintenance.start()
        await mitigation.start()
        made.append((svc, mitigation))
    (a, _), (b, _) = made

    async def within(check: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            assert time.monotonic() < deadline, f"not within {seconds} s"
            await asyncio.sleep(0.02)

    try:
        drift = Event("drift", "agreement", "critical", "native and TikTok's SDK disagree")
        await a.events.emit(drift)
        assert a.providers.order() == ["browser", "native"]
        await within(lambda: b.providers.order() == ["browser", "native"], 1.5)
        assert [e.kind for e in b.events.recent] == []  # b only follows: no events of its own
        await a.events.emit(Event("recovery", "agreement", "info", "cleared"))
        await within(lambda: b.providers.order() == ["native", "browser"], 1.5)
    finally:
        for svc, mitigation in made:
            await mitigation.close()
            await svc.maintenance.close()
