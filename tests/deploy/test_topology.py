"""compose.yaml's topology run from processes, since no image can be pulled here: two `ttsign serve` instances
behind Debian's nginx running deploy/nginx/nginx.conf (only its ports and upstream addresses replaced), sharing
one redis-server through TTSIGN_STORE=redis://, as compose.yaml wires them.

Through the balancer: /health is answered by both instances, 200 concurrent requests against a per-key
limit of 50 let exactly 50 through, across both instances, and a caller cannot pick its own address with a
forged X-Forwarded-For (the balancer replaces it; only the balancer is trusted).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.deploy.processes import Balancer, Ttsign
from tests.fakes.redis_server import RedisServer

KEY = "deploy-topology-key-0123456789"
LIMIT = 50
CALLERS = 200
URL = "https://www.tiktok.com/api/user/detail/?aid=1988&uniqueId=someone&device_id=7312345678901234567"


@dataclass
class Topology:
    balancer: Balancer
    instances: tuple[Ttsign, Ttsign]
    store: str


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    tmp = tmp_path_factory.mktemp("topology")
    redis = RedisServer().start()
    store = redis.url
    settings = {
        "TTSIGN_API_KEYS": KEY,
        # A day's limit: a bucket refills continuously (a minute's 50 gains one token every 1.2 s, which a burst on a
        # loaded machine can outlast); a day's gains one every half hour.
        "TTSIGN_RATE_LIMIT_MINUTE": "0",
        "TTSIGN_RATE_LIMIT_HOUR": "0",
        "TTSIGN_RATE_LIMIT_DAY": str(LIMIT),
        "TTSIGN_TRUSTED_PROXIES": "127.0.0.1",  # the balancer, as compose.yaml trusts its address
        "TTSIGN_STORE": store,
        "TTSIGN_INSTANCES": "2",  # as compose.yaml: a Redis outage leaves each instance half of each limit
        "TTSIGN_STORE_TIMEOUT_MS": "3000",  # a loaded test machine is not a Redis outage (the default is 50)
        "TTSIGN_LOG_LEVEL": "info",  # one access line per request: which instance answered
        "TTSIGN_SHUTDOWN_TIMEOUT": "1",
    }
    started: list[Ttsign | Balancer] = []
    try:
        one = Ttsign(tmp, "ttsign-1", settings)
        started.append(one)
        two = Ttsign(tmp, "ttsign-2", settings)
        started.append(two)
        one.ready()
        two.ready()
        balancer = Balancer(tmp, (one.port, two.port))
        started.append(balancer)
        balancer.ready()
        yield Topology(balancer, (one, two), store)
    finally:
        for proc in reversed(started):
            proc.stop()
        redis.close()


def access_lines(instance: Ttsign, path: str) -> list[dict]:
    """The instance's access-log lines for `path` (its JSON log)."""
    out = []
    for line in instance.log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("route") == path and "status" in entry:
            out.append(entry)
    return out


def test_health_through_the_balancer_is_answered_by_both_instances(topology: Topology) -> None:
    before = [len(access_lines(i, "/health")) for i in topology.instances]
    with httpx.Client(base_url=topology.balancer.url, timeout=10) as client:
        answers = [client.get("/health") for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10, [a.text[:200] for a in answers]
    assert all(a.json()["status"] in ("ok", "degraded") for a in answers)
    deadline = time.monotonic() + 5  # an access line is written once its answer is sent
    while True:
        served = [len(access_lines(i, "/health")) - b for i, b in zip(topology.instances, before, strict=True)]
        if sum(served) >= 10 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert sum(served) == 10 and min(served) >= 1, f"requests per instance: {served}"


async def _burst(url: str) -> Counter[int]:
    limits = httpx.Limits(max_connections=CALLERS, max_keepalive_connections=CALLERS)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        start = asyncio.Event()

        async def one() -> httpx.Response:
            await start.wait()
            return await client.post("/v1/sign", json={"url": URL}, headers={"X-Api-Key": KEY})

        tasks = [asyncio.create_task(one()) for _ in range(CALLERS)]
        await asyncio.sleep(0.05)
        start.set()
        answers = await asyncio.gather(*tasks)
    for a in answers:
        if a.status_code == 429:  # ttsign's own refusal, passed through, not the balancer's page
            assert a.json()["code"] == 429 and "retry-after" in a.headers, a.text[:200]
        else:
            assert a.status_code == 200 and "X-Gnarly=" in a.json()["data"]["signed_url"], a.text[:300]
    return Counter(a.status_code for a in answers)


def test_a_limit_of_50_lets_exactly_50_of_200_concurrent_requests_through_two_instances(topology: Topology) -> None:
    counts = asyncio.run(_burst(topology.balancer.url))
    stores = [httpx.get(f"{i.url}/health", timeout=10).json()["components"]["store"] for i in topology.instances]
    per_instance = [len(access_lines(i, "/v1/sign")) for i in topology.instances]
    assert min(per_instance) >= 1, f"the balancer sent every request to one instance: {per_instance}"
    assert counts[200] == LIMIT and counts[429] == CALLERS - LIMIT, (
        f"{dict(counts)} with store {topology.store.split('://')[0]}; requests per instance {per_instance}; "
        f"the instances' stores: {stores}"
    )


def test_a_forged_x_forwarded_for_does_not_escape_the_failed_key_throttle(topology: Topology) -> None:
    """From 127.0.0.2 (a loopback address of its own, so the other tests' caller is not throttled): wrong keys,
    each with a different forged X-Forwarded-For. The balancer sets the header to the real address, so both
    instances count every failure against 127.0.0.2 and throttle it past TTSIGN_AUTH_FAILURES_PER_MINUTE (10)."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=topology.balancer.url, timeout=10, transport=transport) as client:
        codes = [
            client.post(
                "/v1/sign", json={"url": URL}, headers={"X-Api-Key": f"wrong-{i}", "X-Forwarded-For": f"198.51.100.{i}"}
            ).status_code
            for i in range(24)
        ]
    assert set(codes) == {401, 429} and codes.count(401) <= 20, codes
