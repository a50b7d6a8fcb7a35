"""A shared store that never takes the server down with it: Redis first, a local bucket while Redis fails.

While Redis answers, every check goes to it. When a call fails (Redis down, slower than
`TTSIGN_STORE_TIMEOUT_MS`, or answering errors: out of memory, scripts refused), that request, and every
one after it until Redis is tried again, is answered by an in-process `MemoryRateStore` holding this
process's share of each limit: `ceil(limit / share)`, with `share` = `TTSIGN_INSTANCES` x workers, so
the instances together let about the whole limit through, never N times it. Redis is tried again after
`retry_min_s` (1 s), then doubling to `retry_max_s` (2 s) while it keeps failing; one request at a time
probes it, the others stay local meanwhile, so a dead Redis costs no waiting beyond that one probe. The
first answer from Redis ends the outage. A warning is logged once when an outage begins and a line when
it ends (never one per request); `events` counts checks answered locally and errors by kind, and keeps
the up gauge (`ttsign.server.metrics.StoreEvents`). `health()` says `degraded`, with the reason, while
falling back. Signing never waits on any of this beyond one bounded call.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import structlog

from ttsign.store.base import Bucket, BucketState
from ttsign.store.memory import MemoryRateStore
from ttsign.store.redis import STORE_ERRORS, RedisRateStore, shown_url

T = TypeVar("T")
log = structlog.get_logger("ttsign.store")


class StoreEvents(Protocol):
    def up(self, is_up: bool) -> None: ...

    def fallback(self) -> None: ...

    def error(self, kind: str) -> None: ...


class NoEvents:
    def up(self, is_up: bool) -> None:
        return None

    def fallback(self) -> None:
        return None

    def error(self, kind: str) -> None:
        return None


def error_kind(exc: BaseException) -> str:
    """`timeout`, `connection` or `error` (Redis answered with an error)."""
    from redis import exceptions as redis_exceptions

    if isinstance(exc, TimeoutError | redis_exceptions.TimeoutError):
        return "timeout"
    if isinstance(exc, OSError | redis_exceptions.ConnectionError):
        return "connection"
    return "error"


def describe(exc: BaseException) -> str:
    """A short reason for logs and `/health` (a Redis error's first words; never the URL or a password)."""
    kind = error_kind(exc)
    if kind == "timeout":
        return "timeout: no answer in time"
    text = str(exc).split("\n", 1)[0][:120]
    return f"{kind}: {type(exc).__name__}" + (f": {text}" if text and kind == "error" else "")


class FallbackRateStore:
    """`AsyncRateStore`: `primary` (Redis) while it answers, else a local share of every limit."""

    kind = "redis"

    def __init__(
        self,
        primary: RedisRateStore,
        *,
        share: int = 1,
        events: StoreEvents | None = None,
        retry_min_s: float = 1.0,
        retry_max_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.local = MemoryRateStore()
        self.share = max(1, share)
        self.events = events or NoEvents()
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.clock = clock
        self.down_since: float | None = None  # monotonic time the outage began
        self.reason = ""
        self.failures = 0  # consecutive failed calls (the backoff grows with them)
        self.retry_at = 0.0
        self.fallbacks = 0  # checks answered locally since start
        self.outages = 0
        self._probe: asyncio.Task[None] | None = None
        self._called = False  # no call yet: `/health` probes once, so it does not say `ok` about a Redis never tried
        self.events.up(True)

    @property
    def degraded(self) -> bool:
        return self.down_since is not None

    def local_capacity(self, capacity: int) -> int:
        return capacity if capacity <= 0 else math.ceil(capacity / self.share)

    async def _call(self, primary: Callable[[], Awaitable[T]], local: Callable[[], T]) -> T:
        self._called = True
        if self.down_since is not None:
            now = self.clock()
            if now < self.retry_at:
                return self._local(local)
            self.retry_at = now + self._backoff()  # this request probes; the others stay local meanwhile
        try:
            result = await primary()
        except STORE_ERRORS as exc:
            self._failed(exc)
            return self._local(local)
        if self.down_since is not None:
            self._recovered()
        return result

    def _local(self, local: Callable[[], T]) -> T:
        self.fallbacks += 1
        self.events.fallback()
        return local()

    def _backoff(self) -> float:
        return min(self.retry_max_s, self.retry_min_s * 2 ** max(0, self.failures - 1))

    def _failed(self, exc: BaseException) -> None:
        kind = error_kind(exc)
        self.events.error(kind)
        self.failures += 1
        self.reason = describe(exc)
        now = self.clock()
        self.retry_at = now + self._backoff()
        if self.down_since is None:
            self.down_since = now
            self.outages += 1
            self.events.up(False)
            log.warning(
                "store_unreachable",
                store=shown_url(self.primary.url),
                reason=self.reason,
                fallback=f"local buckets, 1/{self.share} of each limit",
                retry_s=self._backoff(),
            )

    def _recovered(self) -> None:
        down_s = self.clock() - (self.down_since or self.clock())
        log.warning(
            "store_recovered", store=shown_url(self.primary.url), down_s=round(down_s, 3), local_checks=self.fallbacks
        )
        self.down_since = None
        self.reason = ""
        self.failures = 0
        self.events.up(True)

    # AsyncRateStore

    async def take_all_async(self, buckets: Sequence[Bucket], now: float) -> int:
        shares = [(key, self.local_capacity(cap), window) for key, cap, window in buckets]
        return await self._call(
            lambda: self.primary.take_all_async(buckets, now), lambda: self.local.take_all(shares, now)
        )

    async def take_async(self, key: str, capacity: int, window_s: float, now: float, cost: int = 1) -> BucketState:
        share = self.local_capacity(capacity)
        return await self._call(
            lambda: self.primary.take_async(key, capacity, window_s, now, cost),
            lambda: self.local.take(key, share, window_s, now, cost),
        )

    async def peek_async(self, key: str, capacity: int, window_s: float, now: float) -> BucketState:
        share = self.local_capacity(capacity)
        return await self._call(
            lambda: self.primary.peek_async(key, capacity, window_s, now),
            lambda: self.local.peek(key, share, window_s, now),
        )

    async def probe(self) -> None:
        """One ping through the same path as a check (ends an outage, or starts one, without traffic)."""
        await self._call(self.primary.ping, lambda: None)

    def health(self) -> dict[str, Any]:
        """The store's state for `/health`, without a round trip. Before any call, and while degraded when a
        retry is due, a probe is started in the background, so `/health` sees an outage and a recovery even
        when no request comes."""
        self._maybe_probe()
        base = {"kind": self.kind, "url": shown_url(self.primary.url), "outages": self.outages}
        if self.down_since is None:
            return {**base, "status": "ok", "detail": "shared through Redis"}
        return {
            **base,
            "status": "degraded",
            "detail": f"Redis unreachable: limits use local buckets (1/{self.share} of each limit per process)",
            "reason": self.reason,
            "down_s": round(self.clock() - self.down_since, 3),
            "local_checks": self.fallbacks,
            "retry_in_s": round(max(0.0, self.retry_at - self.clock()), 3),
        }

    def _maybe_probe(self) -> None:
        due = self.down_since is not None and self.clock() >= self.retry_at
        if not due and self._called:
            return
        if self._probe is not None and not self._probe.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._probe = loop.create_task(self.probe())

    async def aclose(self) -> None:
        await self.primary.aclose()
