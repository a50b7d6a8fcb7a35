"""The anonymous identity pool's state in Redis: shared by every worker and every instance on one server.

Keys (all under `TTSIGN_STORE_PREFIX` + `id:`; an identity is named by a hash of its ttwid, never the ttwid):

* `id:idx`: a sorted set of the identities, scored by the wall-clock time (ms) each one expires;
  it expires with the last of them.
* `id:h:<id>`: a hash `{cookies: JSON, created: unix seconds}`, expiring when the identity does.
* `id:c:<id>`: a sorted set of its connects (scored by time), trimmed to the pace window on every take and
  expiring with the identity: at most `connects_per_hour` members, whatever the traffic.
* `id:lock`: `SET NX PX`, held by the one instance fetching a new ttwid while the pool has none free.

`take` is one Lua script: it drops expired and burned identities, trims every connect log to the window,
and picks the first identity under its pace, recording the connect in the same call, so two instances
can never both hand out an identity's last connect. Every call is bounded by the store's timeout and
raises `STORE_ERRORS` on failure (the pool decides what to do: `ttsign.tiktok.identity_pool`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from ttsign.store.redis import RedisRateStore

# KEYS: idx. ARGV: now (s), window (s), limit, count (1/0), nonce, hash prefix, connects prefix.
# Returns {1, id, cookies, created, identities, connects left} or {0, '', '', oldest counted connect, identities,
# connects left} when every identity is at its pace (oldest is '' when none is).
TAKE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', math.floor(now * 1000))
local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local chosen = nil
local n = 0
local left = 0
local oldest = nil
for i = 1, #ids, 2 do
  local id = ids[i]
  local expiry = tonumber(ids[i + 1])
  local c = ARGV[7] .. id
  local data = redis.call('HMGET', ARGV[6] .. id, 'cookies', 'created')
  if not data[1] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', c)
  else
    n = n + 1
    redis.call('ZREMRANGEBYSCORE', c, '-inf', tostring(now - window))
    local used = redis.call('ZCARD', c)
    if chosen == nil and used < limit then
      chosen = {id, data[1], data[2]}
      if ARGV[4] == '1' then
        redis.call('ZADD', c, tostring(now), ARGV[5])
        redis.call('PEXPIRE', c, math.max(1, math.ceil(expiry - now * 1000)))
        used = used + 1
      end
    end
    if used < limit then
      left = left + limit - used
    else
      local first = redis.call('ZRANGE', c, 0, 0, 'WITHSCORES')
      if first[2] and (oldest == nil or tonumber(first[2]) < oldest) then oldest = tonumber(first[2]) end
    end
  end
end
if chosen then
  return {1, chosen[1], chosen[2], chosen[3], n, left}
end
return {0, '', '', oldest and tostring(oldest) or '', n, left}
"""

# KEYS: idx, hash. ARGV: id, cookies, created (s), expiry (ms), max identities, now (ms).
# Returns 1 when stored, 0 when the pool is full or the identity already expired.
ADD = """
local now = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then return 0 end
local life = math.floor(tonumber(ARGV[4]) - now)
if life <= 0 then return 0 end
redis.call('HSET', KEYS[2], 'cookies', ARGV[2], 'created', ARGV[3])
redis.call('PEXPIRE', KEYS[2], life)
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
if redis.call('PTTL', KEYS[1]) < life then redis.call('PEXPIRE', KEYS[1], life) end
return 1
"""

# KEYS: lock. ARGV: token. Deletes the lock only if this instance still holds it.
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def identity_id(ttwid: str) -> str:
    """The name of an identity in Redis: not its ttwid (a cookie), a short hash of it."""
    return hashlib.sha256(ttwid.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Taken:
    """What `take` found: `id` (empty when every identity is at its pace), its cookies and wall-clock creation
    time, how many identities the shared pool holds, their connects left, and the oldest counted connect of
    the full ones (unix seconds, None when there is none)."""

    id: str
    cookies: dict[str, str]
    created: float
    identities: int
    connects_left: int
    oldest: float | None


class RedisIdentities:
    """The identity pool's operations on the Redis of a `RedisRateStore` (its URL, prefix, timeout, clients)."""

    def __init__(self, store: RedisRateStore) -> None:
        self.store = store
        self.prefix = store.prefix + "id:"
        self.timeout_s = store.timeout_s
        self._scripts: dict[int, tuple[Redis, AsyncScript, AsyncScript, AsyncScript]] = {}

    @property
    def index_key(self) -> str:
        return self.prefix + "idx"

    @property
    def lock_key(self) -> str:
        return self.prefix + "lock"

    def hash_key(self, ident_id: str) -> str:
        return self.prefix + "h:" + ident_id

    def connects_key(self, ident_id: str) -> str:
        return self.prefix + "c:" + ident_id

    def _client(self) -> tuple[Redis, AsyncScript, AsyncScript, AsyncScript]:
        client, _ = self.store.client()  # this event loop's client
        held = self._scripts.get(id(client))
        if held is None or held[0] is not client:
            held = (client, client.register_script(TAKE), client.register_script(ADD), client.register_script(UNLOCK))
            self._scripts = {id(client): held}
        return held

    async def take(self, *, now: float, window_s: float, limit: int, count: bool) -> Taken:
        _, take, _, _ = self._client()
        args: list[str | int] = [
            repr(float(now)),
            repr(float(window_s)),
            int(limit),
            "1" if count else "0",
            uuid.uuid4().hex,
        ]
        args += [self.prefix + "h:", self.prefix + "c:"]
        async with asyncio.timeout(self.timeout_s):
            found, ident_id, cookies, created, n, left = await take(keys=[self.index_key], args=args)
        if int(found):
            return Taken(text(ident_id), json.loads(text(cookies)), float(text(created)), int(n), int(left), None)
        oldest = text(created)
        return Taken("", {}, 0.0, int(n), int(left), float(oldest) if oldest else None)

    async def add(self, cookies: Mapping[str, str], *, created: float, ttl_s: float, max_identities: int) -> bool:
        _, _, add, _ = self._client()
        ident_id = identity_id(cookies["ttwid"])
        expiry_ms = int((created + ttl_s) * 1000)
        args: list[str | int] = [
            ident_id,
            json.dumps(dict(cookies)),
            repr(float(created)),
            expiry_ms,
            int(max_identities),
        ]
        args.append(int(created * 1000))
        async with asyncio.timeout(self.timeout_s):
            stored = await add(keys=[self.index_key, self.hash_key(ident_id)], args=args)
        return bool(int(stored))

    async def burn(self, ident_id: str) -> None:
        client, _, _, _ = self._client()
        async with asyncio.timeout(self.timeout_s):
            async with client.pipeline(transaction=True) as pipe:
                pipe.zrem(self.index_key, ident_id)
                pipe.delete(self.hash_key(ident_id), self.connects_key(ident_id))
                await pipe.execute()

    async def lock(self, token: str, ttl_s: float) -> bool:
        client, _, _, _ = self._client()
        async with asyncio.timeout(self.timeout_s):
            return bool(await client.set(self.lock_key, token, nx=True, px=max(1, int(ttl_s * 1000))))

    async def locked(self) -> bool:
        client, _, _, _ = self._client()
        async with asyncio.timeout(self.timeout_s):
            return bool(await client.exists(self.lock_key))

    async def unlock(self, token: str) -> None:
        _, _, _, unlock = self._client()
        async with asyncio.timeout(self.timeout_s):
            await unlock(keys=[self.lock_key], args=[token])

    def describe(self) -> dict[str, Any]:
        return {"prefix": self.prefix}
