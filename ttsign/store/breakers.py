"""Provider breaker state shared through the store (`TTSIGN_STORE=redis://`): a breaker that opens on one
instance (or worker) is open on every other within about a second, for the same cooldown, and closes
everywhere when a probe anywhere succeeds; the half-open probe is one across instances.

Nothing here is on the signing path: the chain's breakers (`ttsign.providers.breaker.Breaker`) answer
from memory as they always do, and one background task per process (`SharedBreakers`) mirrors the store
into them every `interval_s` (0.5 s), and publishes their own opens and closes as they happen (the task is
woken at once).

Keys, under `TTSIGN_STORE_PREFIX` + `br:` + the provider's name:

* the state, a JSON `{state, at, until, cooldown_s, reopens}` (`at`: the wall time of the open or close;
  `until`: when an open's probe is due). An open expires `margin_s` after its cooldown; a close after
  `closed_ttl_s`. A newer state (by `at`) is never overwritten by an older one (one Lua script), and a
  breaker takes only states newer than its own last open or close (`Breaker.apply`).
* `...:probe`, the probe lease: a half-open breaker lets its probe through only while this process holds
  it (`SET NX PX lease_s`); the first caller that finds none asks the task for it and skips the provider,
  the next one probes. The lease is released when the probe's verdict is published, and expires by itself
  if the prober dies.

Every store call is bounded by the store's timeout and goes through `FallbackRateStore`'s outage machinery
(backoff, one probe at a time, recovery): while the store fails, every breaker works locally (its own
probe, as with the memory store), with one `breakers_local` warning per outage; the first answer from the
store ends it. Times are wall-clock, so hosts share them (keep them on NTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from ttsign.providers.breaker import CLOSED, HALF_OPEN, OPEN, Breaker
from ttsign.tasks import cancel_and_wait

if TYPE_CHECKING:
    from ttsign.store.fallback import FallbackRateStore

log = structlog.get_logger("ttsign.store")

LOCAL = object()
"""What a store call answers while the store fails (the breakers then work locally)."""

# KEYS: state, lease. ARGV: at, the state (JSON), its TTL (ms), this process's id.
# Writes the state unless the stored one is as new or newer; releases the lease if this process holds it.
PUBLISH = """
local held = redis.call('GET', KEYS[1])
local write = true
if held then
  local ok, old = pcall(cjson.decode, held)
  if ok and type(old) == 'table' and tonumber(old['at']) and tonumber(old['at']) >= tonumber(ARGV[1]) then
    write = false
  end
end
if write then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
if write then return 1 end
return 0
"""

# KEYS: lease. ARGV: this process's id, the lease (ms). 1 when this process holds the lease now.
LEASE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class SharedBreakers:
    """Mirrors `breakers` (name -> Breaker, one chain's) through `store`; a chain companion (`start`, `close`)."""

    def __init__(
        self,
        breakers: Mapping[str, Breaker],
        store: FallbackRateStore,
        *,
        interval_s: float = 0.5,
        lease_s: float = 10.0,
        margin_s: float = 5.0,
        closed_ttl_s: float = 60.0,
        own_store: bool = True,
    ) -> None:
        self.breakers = dict(breakers)
        self.store = store
        self.redis = store.primary
        self.interval_s = interval_s
        self.lease_s = lease_s
        self.margin_s = margin_s
        self.closed_ttl_s = closed_ttl_s
        self.own_store = own_store
        self.me = uuid.uuid4().hex
        self._pending: dict[str, dict[str, Any]] = {}
        self._wanted: set[str] = set()
        self._leases: dict[str, float] = {}  # name -> monotonic time this process's lease ends (with a margin)
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._scripts: dict[int, tuple[Any, Any, Any, Any]] = {}
        self._warned_outage = 0
        self.local_rounds = 0
        self.applied = 0
        for name, breaker in self.breakers.items():
            breaker.on_transition = self._transition_hook(name, breaker)
            breaker.probe_permit = self._permit_hook(name)

    @classmethod
    def attach(cls, chain: Any, store: FallbackRateStore, **kw: Any) -> SharedBreakers:
        """Share `chain`'s breakers through `store`, started and closed with the chain."""
        shared = cls(chain.breakers, store, **kw)
        chain.companions.append(shared)
        return shared

    def key(self, name: str) -> str:
        return self.redis.prefix + "br:" + name

    def lease_key(self, name: str) -> str:
        return self.key(name) + ":probe"

    # -- the breakers' hooks (synchronous, no I/O) -------------------------------------------------
    def _transition_hook(self, name: str, breaker: Breaker) -> Any:
        def changed(state: str) -> None:
            if state in (OPEN, CLOSED):
                self._pending[name] = breaker.shared_state()
                self._leases.pop(name, None)
                self._kick()

        return changed

    def _permit_hook(self, name: str) -> Any:
        def permit() -> bool:
            if self._task is None or self.store.degraded:
                return True  # not running, or the store fails: this breaker probes on its own
            ends = self._leases.get(name)
            if ends is not None and ends > time.monotonic():
                return True
            self._wanted.add(name)
            self._kick()
            return False

        return permit

    def _kick(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ttsign-shared-breakers")

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self.own_store:
            await self.store.aclose()

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        while True:
            wake.clear()
            try:
                await self.sync()
            except Exception:  # never let the mirror die: the breakers keep working locally meanwhile
                log.exception("breakers_sync_failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await wake.wait()

    # -- one round ------------------------------------------------------------------------------
    async def sync(self) -> None:
        """Publish this process's opens and closes, take the leases asked for, then apply the store's states."""
        pending, self._pending = self._pending, {}
        for name, state in pending.items():
            if await self._shared(lambda n=name, s=state: self._publish(n, s)) is LOCAL:
                for rest, kept in pending.items():  # kept for when the store answers again
                    self._pending.setdefault(rest, kept)
                return self._going_local()
        states = await self._shared(self._read)
        if states is LOCAL:
            return self._going_local()
        for name, raw in states.items():
            if raw is None:
                continue
            try:
                state = json.loads(raw)
                taken = self.breakers[name].apply(
                    state["state"],
                    at=float(state["at"]),
                    until=float(state.get("until") or 0.0),
                    cooldown_s=float(state.get("cooldown_s") or 0.0),
                    reopens=int(state.get("reopens") or 0),
                )
            except (ValueError, KeyError, TypeError):
                continue  # not ours, or from a version that wrote something else: ignored
            if taken:
                self.applied += 1
                if self._leases.pop(name, None) is not None:  # a verdict came from elsewhere: the lease is moot
                    if await self._shared(lambda n=name: self._release(n)) is LOCAL:
                        return self._going_local()
        wanted, self._wanted = self._wanted, set()
        for name in wanted:
            breaker = self.breakers[name]
            if breaker.state != HALF_OPEN and not (breaker.state == OPEN and breaker.next_probe_in() == 0):
                continue  # closed or re-opened meanwhile: no probe to lease
            got = await self._shared(lambda n=name: self._lease(n))
            if got is LOCAL:
                return self._going_local()
            if got:
                self._leases[name] = time.monotonic() + max(0.0, self.lease_s - 1.0)

    async def _shared(self, call: Any) -> Any:
        return await self.store._call(call, lambda: LOCAL)  # the store's backoff, probe and recovery

    def _going_local(self) -> None:
        self.local_rounds += 1
        if self._warned_outage != self.store.outages:
            self._warned_outage = self.store.outages
            log.warning("breakers_local", reason=self.store.reason, fallback="each process's own provider breakers")

    def _client(self) -> tuple[Any, Any, Any, Any]:
        client, _ = self.redis.client()
        held = self._scripts.get(id(client))
        if held is None or held[0] is not client:
            scripts = (client.register_script(PUBLISH), client.register_script(LEASE), client.register_script(RELEASE))
            held = (client, *scripts)
            self._scripts = {id(client): held}
        return held

    async def _publish(self, name: str, state: dict[str, Any]) -> int:
        _, publish, _, _ = self._client()
        if state["state"] == OPEN:
            ttl_s = max(0.0, state["until"] - time.time()) + self.margin_s
        else:
            ttl_s = self.closed_ttl_s
        args = [repr(float(state["at"])), json.dumps(state), max(1, int(ttl_s * 1000)), self.me]
        async with asyncio.timeout(self.redis.timeout_s):
            return int(await publish(keys=[self.key(name), self.lease_key(name)], args=args))

    async def _lease(self, name: str) -> int:
        _, _, lease, _ = self._client()
        async with asyncio.timeout(self.redis.timeout_s):
            return int(await lease(keys=[self.lease_key(name)], args=[self.me, int(self.lease_s * 1000)]))

    async def _release(self, name: str) -> int:
        _, _, _, release = self._client()
        async with asyncio.timeout(self.redis.timeout_s):
            return int(await release(keys=[self.lease_key(name)], args=[self.me]))

    async def _read(self) -> dict[str, Any]:
        client, _, _, _ = self._client()
        names = list(self.breakers)
        async with asyncio.timeout(self.redis.timeout_s):
            values = await client.mget([self.key(name) for name in names])
        return dict(zip(names, values, strict=True))

    def health(self) -> dict[str, Any]:
        return {"shared": not self.store.degraded, "applied": self.applied, "local_rounds": self.local_rounds}


def breaker_store_events() -> Any:
    """The breakers' store events for `/metrics`: only its errors (`ttsign_store_errors_total`); the up gauge
    and the local-check count stay the rate limits'."""
    from ttsign.server import metrics

    class BreakerStoreEvents:
        def up(self, is_up: bool) -> None:
            return None

        def fallback(self) -> None:
            return None

        def error(self, kind: str) -> None:
            metrics.STORE_ERRORS.labels(kind).inc()

    return BreakerStoreEvents()
