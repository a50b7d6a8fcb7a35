"""Token buckets in Redis (or Valkey), shared by every worker and every host that names the same server.

`TTSIGN_STORE=redis://[user:password@]host:6379/0`, `rediss://...` (TLS) or `unix:///run/redis.sock?db=0`,
through redis-py's asyncio client. The buckets behave exactly as the memory store's (`ttsign.store.memory`):
one Lua script takes a token from every bucket of a request (its minute, hour and day windows) or from none,
atomically in Redis, so N workers on M hosts share one limit. Each bucket is a hash `{t: tokens, ts: time}`
under `TTSIGN_STORE_PREFIX` + `rl:` + its key, and expires when it would be full again (a missing bucket
is a full one): nothing outlives its window, nothing grows without bound.

Every call is bounded by `timeout_s` (`TTSIGN_STORE_TIMEOUT_MS`) and is never retried here: a failure
raises (`STORE_ERRORS`) and `ttsign.store.fallback` decides what the request gets. The time is the
caller's clock (as for the memory store); a bucket never moves back in time, so hosts a little apart
(keep them on NTP) cannot refill each other's buckets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from redis import exceptions as redis_exceptions
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from ttsign.store.base import UNLIMITED, Bucket, BucketState, bucket_state

SCHEMES = ("redis", "rediss", "unix")
STORE_ERRORS: tuple[type[BaseException], ...] = (redis_exceptions.RedisError, OSError, TimeoutError)
"""What a call to Redis raises when Redis is down, slow or answering errors."""

# KEYS: the buckets. ARGV: now (seconds), cost, then capacity and window (seconds) for each key.
# Returns {-1, level left in the first bucket} when every bucket gave `cost` tokens, else
# {index (0-based) of the first bucket short of them, its level}, having taken nothing from any.
TAKE_ALL = """
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local found = {}
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  if cap > 0 then
    local held = redis.call('HMGET', key, 't', 'ts')
    local tokens = tonumber(held[1]) or cap
    local last = tonumber(held[2]) or now
    local at = now
    if at < last then at = last end
    local level = math.min(cap, tokens + (at - last) * cap / window)
    if level < cost then
      return {i - 1, tostring(level)}
    end
    found[i] = {level - cost, at, cap, window}
  end
end
local first = ''
for i, key in ipairs(KEYS) do
  local f = found[i]
  if f then
    redis.call('HSET', key, 't', tostring(f[1]), 'ts', tostring(f[2]))
    redis.call('PEXPIRE', key, math.ceil((f[3] - f[1]) * f[4] / f[3] * 1000) + 1000)
    if first == '' then first = tostring(f[1]) end
  end
end
return {-1, first}
"""


def shown_url(url: str) -> str:
    """The store URL without its user and password (for logs and `/health`)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def is_redis_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in SCHEMES and "://" in url


class RedisRateStore:
    """`AsyncRateStore` over one Redis server. Only the async operations exist: Redis is never called from
    synchronous code (it would block the event loop)."""

    kind = "redis"

    def __init__(self, url: str, *, prefix: str = "ttsign:", timeout_s: float = 0.05, max_connections: int = 64):
        if not is_redis_url(url):
            raise ValueError("not a redis://, rediss:// or unix:// URL")
        self.url = url
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, Redis, AsyncScript]] = {}
        self._pool_for(None)  # a malformed URL fails here, at start-up

    def _pool_for(self, loop: asyncio.AbstractEventLoop | None) -> tuple[Redis, AsyncScript]:
        pool = BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.max_connections,
            timeout=self.timeout_s,  # waiting for a free connection is bounded too
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
            retry=Retry(NoBackoff(), 0),  # no retry inside a request: the fallback answers instead
            health_check_interval=0,
        )
        client = Redis(connection_pool=pool)
        script = client.register_script(TAKE_ALL)  # EVALSHA, and EVAL once after a restart emptied the cache
        if loop is not None:
            self._clients[id(loop)] = (loop, client, script)
        return client, script

    def client(self) -> tuple[Redis, AsyncScript]:
        """This event loop's client (a connection belongs to the loop that opened it: tests run several)."""
        loop = asyncio.get_running_loop()
        held = self._clients.get(id(loop))
        if held is not None and held[0] is loop:
            return held[1], held[2]
        for key, (other, _, _) in list(self._clients.items()):
            if other.is_closed():
                del self._clients[key]
        return self._pool_for(loop)

    def key(self, key: str) -> str:
        return self.prefix + "rl:" + key

    async def _run(self, buckets: Sequence[Bucket], now: float, cost: int) -> tuple[int, float]:
        args: list[Any] = [repr(float(now)), cost]
        for _, capacity, window_s in buckets:
            args += [int(capacity), repr(float(window_s))]
        _, script = self.client()
        async with asyncio.timeout(self.timeout_s):
            index, level = await script(keys=[self.key(b[0]) for b in buckets], args=args)
        return int(index), float(level or 0)

    async def take_all_async(self, buckets: Sequence[Bucket], now: float) -> int:
        if not any(capacity > 0 for _, capacity, _ in buckets):
            return -1
        index, _ = await self._run(buckets, now, 1)
        return index

    async def take_async(self, key: str, capacity: int, window_s: float, now: float, cost: int = 1) -> BucketState:
        if capacity <= 0:
            return UNLIMITED
        index, level = await self._run([(key, capacity, window_s)], now, cost)
        return bucket_state(index < 0, level, capacity, window_s)

    async def peek_async(self, key: str, capacity: int, window_s: float, now: float) -> BucketState:
        if capacity <= 0:
            return UNLIMITED
        client, _ = self.client()
        async with asyncio.timeout(self.timeout_s):
            tokens, last = await client.hmget(self.key(key), "t", "ts")
        level = float(capacity)
        if tokens is not None and last is not None:
            level = min(float(capacity), float(tokens) + max(0.0, now - float(last)) * capacity / window_s)
        return bucket_state(level >= 1, level, capacity, window_s)

    async def ping(self) -> None:
        client, _ = self.client()
        async with asyncio.timeout(self.timeout_s):
            await client.ping()

    def health(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": "ok", "detail": f"shared: {shown_url(self.url)}"}

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        held = self._clients.pop(id(loop), None)
        if held is not None:
            await held[1].aclose(close_connection_pool=True)
