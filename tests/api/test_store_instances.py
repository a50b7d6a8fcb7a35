"""Two `ttsign serve` instances on one real Redis, one of them with two workers: the limits and the
failed-auth throttle are shared by all three processes, and a Redis outage (stopped, restarted, answering
errors) costs callers nothing but the exactness of the limit: no 5xx, a local share, `/health` and
`/metrics` saying so, and the shared limit back once Redis answers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.redis_server import RedisServer
from tests.fakes.serve_process import ServeProcess
from tests.store.conftest import redis, redis_server  # noqa: F401  (the real redis-server fixtures)

KEY, KEY2 = "store-test-key-0123456789", "store-test-key-2-0123456789"
URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30"
LIMIT = 50


@pytest.fixture(scope="module")
def instances(redis_server: RedisServer) -> Iterator[list[ServeProcess]]:  # noqa: F811
    settings = {
        "TTSIGN_STORE": redis_server.url,
        "TTSIGN_STORE_PREFIX": "inst:",
        "TTSIGN_STORE_TIMEOUT_MS": "1000",  # a loaded test machine must not look like an outage
        "TTSIGN_INSTANCES": "2",
        "TTSIGN_API_KEYS": f"{KEY},{KEY2}",
        # a day's limit: a minute's bucket of 50 refills a token every 1.2 s, which a burst on a loaded
        # machine can outlast (51 through); a day's refills one every 29 minutes
        "TTSIGN_RATE_LIMIT_MINUTE": "0",
        "TTSIGN_RATE_LIMIT_HOUR": "0",
        "TTSIGN_RATE_LIMIT_DAY": str(LIMIT),
        "TTSIGN_AUTH_FAILURES_PER_MINUTE": "4",
    }
    servers = [ServeProcess(workers=2, **settings).start(), ServeProcess(workers=1, **settings).start()]
    try:
        for s in servers:
            s.wait_ready()
        yield servers
    finally:
        for s in servers:
            s.stop()


async def _sign_all(servers: list[ServeProcess], n: int, key: str = KEY) -> Counter[int]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
    clients = [httpx.AsyncClient(base_url=s.base_url, timeout=10, limits=limits) for s in servers]
    try:
        answers = await asyncio.gather(
            *(clients[i % len(clients)].post("/signature", content=URL, headers={"X-Api-Key": key}) for i in range(n))
        )
    finally:
        for c in clients:
            await c.aclose()
    return Counter(a.status_code for a in answers)


def test_200_concurrent_requests_across_instances_and_workers_let_exactly_the_limit_through(
    instances: list[ServeProcess],
    redis: RedisServer,  # noqa: F811
) -> None:
    counts = asyncio.run(_sign_all(instances, 200))
    assert counts == {200: LIMIT, 429: 200 - LIMIT}, counts
    assert any(k.startswith("inst:rl:key:") for k in redis.client().keys("*"))


def test_failed_auth_attempts_are_counted_across_instances(
    instances: list[ServeProcess],
    redis: RedisServer,  # noqa: F811
) -> None:
    a, b = (httpx.Client(base_url=s.base_url, timeout=5) for s in instances)
    for c in (a, b, a, b):  # 4 wrong keys: the whole allowance, split over both instances
        assert c.post("/signature", content=URL, headers={"X-Api-Key": "wrong-key"}).status_code == 401
    refused = b.post("/signature", content=URL, headers={"X-Api-Key": KEY})  # even the right key now
    assert refused.status_code == 429 and refused.json()["limit_label"] == "auth_failures"
    assert a.post("/signature", content=URL, headers={"X-Api-Key": KEY}).status_code == 429


def _health_store(server: ServeProcess) -> dict[str, object]:
    body = httpx.get(server.base_url + "/health", timeout=5).json()
    store: dict[str, object] = body["components"]["store"]
    return {**store, "overall": body["status"]}


def _until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_redis_stopped_mid_load_restarted_and_erroring(
    instances: list[ServeProcess],
    redis: RedisServer,  # noqa: F811
) -> None:
    single = instances[1]  # one worker: its /health and /metrics are the ones that served

    async def load_with_outage() -> Counter[int]:
        first = asyncio.create_task(_sign_all(instances, 60, KEY))
        await asyncio.sleep(0.05)
        redis.stop()  # mid-load
        second = await _sign_all(instances, 60, KEY)
        return (await first) + second

    counts = asyncio.run(load_with_outage())
    assert set(counts) <= {200, 429}, counts  # never a 5xx
    store = _health_store(single)
    assert store["status"] == "degraded" and store["overall"] == "degraded"
    assert "connection" in str(store["reason"])
    metrics = httpx.get(single.base_url + "/metrics").text
    assert "ttsign_store_up 0.0" in metrics and "ttsign_store_fallback_total" in metrics
    # during the outage each process limits alone, to its share: ceil(50 / (2 instances x 1 worker)) = 25
    fresh = asyncio.run(_sign_all([single], 40, KEY2))
    assert fresh == {200: 25, 429: 15}, fresh
    # restarted: back to Redis (probed within ~1-2 s), /health ok again, the shared limit counts again
    redis.start()
    _until(lambda: _health_store(single)["status"] == "ok")
    assert _health_store(single)["overall"] == "ok"
    assert "ttsign_store_up 1.0" in httpx.get(single.base_url + "/metrics").text
    # Redis answering errors (maxmemory reached): still no 5xx, degraded with the reason
    c = redis.client()
    c.config_set("maxmemory-policy", "noeviction")
    c.set("filler", "x" * 100_000)
    c.config_set("maxmemory", 1)
    errs = asyncio.run(_sign_all([single], 20, KEY2))
    assert set(errs) <= {200, 429}, errs
    assert "maxmemory" in str(_health_store(single).get("reason"))
    c.config_set("maxmemory", 0)
    _until(lambda: _health_store(single)["status"] == "ok")


def test_a_slow_redis_costs_a_request_milliseconds_not_the_delay(redis: RedisServer) -> None:  # noqa: F811
    from tests.fakes.redis_server import DelayProxy

    with DelayProxy(redis.port, delay_s=0.5) as proxy:  # every Redis answer half a second late
        server = ServeProcess(
            TTSIGN_STORE=proxy.url,
            TTSIGN_STORE_TIMEOUT_MS="50",
            TTSIGN_API_KEYS=KEY,
            TTSIGN_RATE_LIMIT_MINUTE="0",
            TTSIGN_RATE_LIMIT_HOUR="0",
            TTSIGN_RATE_LIMIT_DAY="10",
        ).start()
        try:
            server.wait_ready()
            with httpx.Client(base_url=server.base_url, timeout=5) as c:
                took, codes = [], []
                for _ in range(15):
                    t0 = time.perf_counter()
                    codes.append(c.post("/signature", content=URL, headers={"X-Api-Key": KEY}).status_code)
                    took.append(time.perf_counter() - t0)
            assert codes == [200] * 10 + [429] * 5  # the local share (one instance, one worker: the whole limit)
            assert max(took) < 0.4, took  # the first pays the 50 ms timeout; the rest do not wait at all
            store = _health_store(server)
            assert store["status"] == "degraded" and "timeout" in str(store["reason"])
        finally:
            server.stop()
