"""A named lease: at most one process at a time does a job (the monitor's cycle) among every worker and
instance sharing a store.

* `LocalLease` (the memory store: one process): always held.
* `RedisLease` (`TTSIGN_STORE=redis://`): the key `TTSIGN_STORE_PREFIX` + `lease:` + name holds the
  holder's id with a TTL (`SET NX PX`, then `PEXPIRE` while the holder renews; one Lua script, as the
  breakers' probe lease in `ttsign.store.breakers`). A holder that stops renewing (it died, it hung) loses
  the lease `ttl_s` later and another process takes it at its next `acquire`. `release` gives it up at once
  (only if still held by this process).

While Redis fails (through `FallbackRateStore`'s outage machinery: backoff, one probe at a time), the last
holder keeps the lease in its own view and every other process stays without it, so an outage never
starts a second holder; a process that never held it waits for the store. Every call is bounded by the
store's timeout.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ttsign.store.fallback import FallbackRateStore

# KEYS: the lease. ARGV: this process's id, the TTL (ms). 1 when this process holds the lease now.
ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

_LOCAL = object()


class Lease(Protocol):
    name: str
    held: bool

    async def acquire(self) -> bool:
        """Take or renew the lease; True when this process holds it now."""

    async def release(self) -> None:
        """Give the lease up (a no-op when not held)."""

    async def close(self) -> None:
        """Release, and close what this lease opened."""


class LocalLease:
    """One process: the lease is always this process's."""

    kind = "local"

    def __init__(self, name: str) -> None:
        self.name = name
        self.held = False

    async def acquire(self) -> bool:
        self.held = True
        return True

    async def release(self) -> None:
        self.held = False

    async def close(self) -> None:
        await self.release()


class RedisLease:
    """The lease `name` in a shared Redis (module docstring)."""

    kind = "redis"

    def __init__(self, store: FallbackRateStore, name: str, *, ttl_s: float = 30.0, own_store: bool = True) -> None:
        if ttl_s <= 0:
            raise ValueError("a lease's TTL is a positive number of seconds")
        self.store = store
        self.redis = store.primary
        self.name = name
        self.ttl_s = ttl_s
        self.own_store = own_store
        self.me = uuid.uuid4().hex
        self.held = False
        self.taken = 0
        """How many times this process took the lease over (not counting renewals)."""
        self._scripts: tuple[Any, Any, Any] | None = None

    @property
    def key(self) -> str:
        return self.redis.prefix + "lease:" + self.name

    def _client(self) -> tuple[Any, Any, Any]:
        client, _ = self.redis.client()
        held = self._scripts
        if held is None or held[0] is not client:
            held = (client, client.register_script(ACQUIRE), client.register_script(RELEASE))
            self._scripts = held
        return held

    async def _acquire(self) -> int:
        _, acquire, _ = self._client()
        async with asyncio.timeout(self.redis.timeout_s):
            return int(await acquire(keys=[self.key], args=[self.me, max(1, int(self.ttl_s * 1000))]))

    async def _release(self) -> int:
        _, _, release = self._client()
        async with asyncio.timeout(self.redis.timeout_s):
            return int(await release(keys=[self.key], args=[self.me]))

    async def acquire(self) -> bool:
        got = await self.store._call(self._acquire, lambda: _LOCAL)  # the store's backoff, probe and recovery
        if got is _LOCAL:
            return self.held  # the store is out: the last holder keeps it, nobody else takes it
        now = bool(got)
        if now and not self.held:
            self.taken += 1
        self.held = now
        return now

    async def release(self) -> None:
        if self.held:
            self.held = False
            await self.store._call(self._release, lambda: _LOCAL)

    async def close(self) -> None:
        try:
            await self.release()
        finally:
            if self.own_store:
                await self.store.aclose()

    async def holder(self) -> str | None:
        """The id holding the lease now, as the store says (None: nobody, or the store is out)."""
        client, _, _ = self._client()

        async def read() -> Any:
            async with asyncio.timeout(self.redis.timeout_s):
                return await client.get(self.key)

        value = await self.store._call(read, lambda: None)
        return value.decode() if isinstance(value, bytes) else value


def make_lease(settings: Any, name: str, *, ttl_s: float = 30.0) -> LocalLease | RedisLease:
    """The lease the store setting implies: Redis (its own connection pool) or local."""
    from ttsign.store.redis import is_redis_url

    if not is_redis_url(settings.store):
        return LocalLease(name)
    from ttsign.store.factory import open_redis

    return RedisLease(open_redis(settings), name, ttl_s=ttl_s)
