"""Two real `ttsign serve` instances (one with two workers) on one redis-server, connecting through the
offline TikTok: `/webcast/fetch` hands out identities from the one shared pool, so an identity's connects
across all three processes never pass `TTSIGN_CONNECTS_PER_HOUR`, and the pool as a whole allows exactly
identities x limit connects (each process pacing alone would let three times as many through)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.redis_server import RedisServer
from tests.fakes.serve_process import ServeProcess
from tests.fakes.tiktok import FAKE_ROOM_ID, FakeTikTok
from ttsign.store.identities import identity_id

LIMIT = 2  # connects per identity per hour
IDENTITIES = 8  # the pool's default size


@pytest.fixture
def instances(redis: RedisServer, fake: FakeTikTok) -> Iterator[list[ServeProcess]]:
    settings = {
        "TTSIGN_STORE": redis.url,
        "TTSIGN_STORE_PREFIX": "idi:",
        "TTSIGN_STORE_TIMEOUT_MS": "1000",  # a loaded test machine must not look like an outage
        "TTSIGN_INSTANCES": "2",
        "TTSIGN_CONNECTS_PER_HOUR": str(LIMIT),
        "TTSIGN_TIKTOK_WWW": fake.base_url,
        "TTSIGN_TTWID_URL": fake.ttwid_url,
        "TTSIGN_WEBCAST_URL": fake.webcast_url,
        "TTSIGN_RATE_LIMIT_MINUTE": "0",
        "TTSIGN_RATE_LIMIT_HOUR": "0",
        "TTSIGN_RATE_LIMIT_DAY": "0",
    }
    servers = [ServeProcess(workers=2, **settings).start(), ServeProcess(workers=1, **settings).start()]
    try:
        for s in servers:
            s.wait_ready()
        yield servers
    finally:
        for s in servers:
            s.stop()


async def _fetch_all(servers: list[ServeProcess], n: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)  # new connections: every worker serves
    clients = [httpx.AsyncClient(base_url=s.base_url, timeout=15, limits=limits) for s in servers]
    try:
        return await asyncio.gather(
            *(clients[i % 2].get("/webcast/fetch", params={"room_id": FAKE_ROOM_ID}) for i in range(n))
        )
    finally:
        for c in clients:
            await c.aclose()


def test_identity_pacing_is_shared_by_two_instances_and_their_workers(
    instances: list[ServeProcess], fake: FakeTikTok, redis: RedisServer
) -> None:
    answers = asyncio.run(_fetch_all(instances, 40))
    ok = [a for a in answers if a.status_code == 200]
    assert all(a.status_code < 500 or a.status_code == 503 for a in answers), Counter(a.status_code for a in answers)
    per_ttwid = Counter(identity_id(a.headers["X-Set-TT-Cookie"].split(";", 1)[0]) for a in ok)  # no cookie shown
    assert len(ok) == IDENTITIES * LIMIT, (Counter(a.status_code for a in answers), per_ttwid)
    assert max(per_ttwid.values()) == LIMIT and len(per_ttwid) == IDENTITIES, per_ttwid
    assert len(fake.state()["issued"]["ttwid"]) == IDENTITIES  # one fetch per identity across all processes
    refused = [a for a in answers if a.status_code != 200]
    assert refused and all(a.json()["code"] == a.status_code for a in refused)
    assert all(k.startswith("idi:id:") and redis.client().pttl(k) > 0 for k in redis.client().keys("*"))
