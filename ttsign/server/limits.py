"""Per-caller rate limits: minute / hour / day token buckets over a `RateStore`.

Every caller gets the server's limits (`TTSIGN_RATE_LIMIT_MINUTE` / `_HOUR` / `_DAY`) unless `overrides`
gives it its own (a key's line in the keys file, see `ttsign.api_keys`). A limit of 0 is no limit.

The request path awaits `hit_async` / `status_async` (`AsyncRateStore`: the memory store answers in place,
Redis in one round trip); `hit` / `status` are the same for a synchronous store (the memory store).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ttsign.store.base import AsyncRateStore, BucketState, RateStore

WINDOWS = (("rate_limit_minute", 60.0), ("rate_limit_hour", 3600.0), ("rate_limit_day", 86400.0))

Window = tuple[str, int, float]  # (label, limit, window_s)


@dataclass(frozen=True)
class LimitStatus:
    label: str
    limit: int
    window_s: float
    state: BucketState


@dataclass(frozen=True)
class Decision:
    allowed: bool
    blocked_by: LimitStatus | None = None

    def headers_429(self, now: float) -> dict[str, str]:
        """The 429 headers both clients parse (live-connect.md §1.1a, §1.2a, §3.1 step 5).

        TikTokLive turns `RateLimit-Remaining` into "try again in N seconds", so on a 429 it carries
        the seconds to wait, as Euler's server does; `RateLimit-Reset` / `X-RateLimit-Reset` are unix
        seconds; `Retry-After` is seconds.
        """
        assert self.blocked_by is not None
        wait = max(1, math.ceil(self.blocked_by.state.retry_after_s))
        reset = int(now) + wait
        return {
            "RateLimit-Remaining": str(wait),
            "RateLimit-Reset": str(reset),
            "Retry-After": str(wait),
            "X-RateLimit-Reset": str(reset),
            "RateLimit-Limit": str(self.blocked_by.limit),
        }


ALLOWED = Decision(True)


def _active(limits: Mapping[str, int]) -> tuple[Window, ...]:
    return tuple((label, limits.get(label, 0), window) for label, window in WINDOWS if limits.get(label, 0) > 0)


class RateLimiter:
    def __init__(
        self,
        store: RateStore | AsyncRateStore,
        limits: Mapping[str, int],
        clock: Callable[[], float] = time.time,
        overrides: Mapping[str, Mapping[str, int]] | None = None,
    ) -> None:
        """`limits` by label (`rate_limit_minute` ...); `overrides` maps a caller id to its own full set."""
        self.store: Any = store  # a RateStore for `hit`/`status`, an AsyncRateStore for the `_async` ones
        self.clock = clock
        self._default = _active(limits)
        self._by_caller = {caller: _active(own) for caller, own in (overrides or {}).items()}

    def windows(self, caller: str) -> tuple[Window, ...]:
        """The limits that apply to `caller`: (label, limit, window_s) for every window with a limit."""
        return self._by_caller.get(caller, self._default)

    def hit(self, caller: str) -> Decision:
        """Take one token from each of the caller's windows, or refuse (and take none) if any is empty."""
        active = self._by_caller.get(caller, self._default)
        if not active:
            return ALLOWED
        now = self.clock()
        blocked = self.store.take_all([(f"{caller}:{label}", limit, window) for label, limit, window in active], now)
        if blocked < 0:
            return ALLOWED
        label, limit, window = active[blocked]
        status = LimitStatus(label, limit, window, self.store.peek(f"{caller}:{label}", limit, window, now))
        return Decision(False, status)

    def status(self, caller: str) -> list[LimitStatus]:
        now = self.clock()
        return [
            LimitStatus(label, limit, window, self.store.peek(f"{caller}:{label}", limit, window, now))
            for label, limit, window in self.windows(caller)
        ]

    async def hit_async(self, caller: str) -> Decision:
        """`hit`, through the store's async operations (what the request path awaits)."""
        active = self._by_caller.get(caller, self._default)
        if not active:
            return ALLOWED
        now = self.clock()
        blocked = await self.store.take_all_async(
            [(f"{caller}:{label}", limit, window) for label, limit, window in active], now
        )
        if blocked < 0:
            return ALLOWED
        label, limit, window = active[blocked]
        return Decision(False, LimitStatus(label, limit, window, await self._peek(caller, label, limit, window, now)))

    async def status_async(self, caller: str) -> list[LimitStatus]:
        """`status`, through the store's async operations."""
        now = self.clock()
        return [
            LimitStatus(label, limit, window, await self._peek(caller, label, limit, window, now))
            for label, limit, window in self.windows(caller)
        ]

    async def _peek(self, caller: str, label: str, limit: int, window: float, now: float) -> BucketState:
        state: BucketState = await self.store.peek_async(f"{caller}:{label}", limit, window, now)
        return state
