"""Server-wide flags shared through the store (`TTSIGN_STORE=redis://`): the maintenance flag, so an operator
who turns it on at one instance turns it on at every instance (`ttsign.monitor.maintenance`).

A flag is one JSON object under `TTSIGN_STORE_PREFIX` + `flag:` + its name, without a TTL (maintenance lasts
until someone turns it off). Each value carries `at`, the wall time it was set: a write never replaces a
newer value (one Lua script), so the last switch wins wherever it was made, even when one instance
publishes a switch it made while Redis was down.

Nothing here is on the request path: the flag's owner reads the store from a background task (about every
second) into memory, and requests read memory. Every call is bounded by the store's timeout and goes through
`FallbackRateStore`'s outage machinery (backoff, one probe at a time, recovery); while the store fails, a
read or a write answers `LOCAL` and the owner keeps its last known value.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ttsign.store.fallback import FallbackRateStore

LOCAL = object()
"""What a call answers while the store fails."""

# KEYS: the flag. ARGV: at, the value (JSON). 1 when written, 0 when the stored value is as new or newer.
WRITE = """
local held = redis.call('GET', KEYS[1])
if held then
  local ok, old = pcall(cjson.decode, held)
  if ok and type(old) == 'table' and tonumber(old['at']) and tonumber(old['at']) >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""


class SharedFlags:
    """Flags by name in Redis, through `store` (a `FallbackRateStore`)."""

    def __init__(self, store: FallbackRateStore) -> None:
        self.store = store
        self.redis = store.primary
        self._scripts: dict[int, tuple[Any, Any]] = {}

    def key(self, name: str) -> str:
        return self.redis.prefix + "flag:" + name

    @property
    def degraded(self) -> bool:
        return self.store.degraded

    def _client(self) -> tuple[Any, Any]:
        client, _ = self.redis.client()
        held = self._scripts.get(id(client))
        if held is None or held[0] is not client:
            held = (client, client.register_script(WRITE))
            self._scripts = {id(client): held}
        return held

    async def read(self, name: str) -> dict[str, Any] | object | None:
        """The flag's stored value, None when unset (or unreadable), or `LOCAL` while the store fails."""

        async def get() -> Any:
            client, _ = self._client()
            async with asyncio.timeout(self.redis.timeout_s):
                return await client.get(self.key(name))

        raw = await self.store._call(get, lambda: LOCAL)  # the store's backoff, probe and recovery
        if raw is LOCAL or raw is None:
            return raw
        try:
            value = json.loads(raw)
        except (ValueError, TypeError):
            return None  # not ours: read as unset
        return value if isinstance(value, dict) else None

    async def write(self, name: str, value: dict[str, Any]) -> bool | object:
        """Store `value` (with its `at`) unless a newer one is stored: True written, False older, `LOCAL`."""

        async def put() -> int:
            _, script = self._client()
            args = [repr(float(value["at"])), json.dumps(value)]
            async with asyncio.timeout(self.redis.timeout_s):
                return int(await script(keys=[self.key(name)], args=args))

        done = await self.store._call(put, lambda: LOCAL)
        return done if done is LOCAL else bool(done)

    async def aclose(self) -> None:
        await self.store.aclose()
