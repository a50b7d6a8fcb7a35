"""Throttling of failed API-key authentication, per client address.

Each wrong key presented from an address takes one token from that address's bucket (a per-minute
`RateLimiter` window over the same `RateStore` as the rate limits, so a shared store shares it too).
While the bucket is empty, EVERY request from that address that needs a key is refused with 429 and
`Retry-After`, even one that carries a right key: letting a right key through would let a guesser keep
guessing at full speed and learn which guess was right from the status alone. The bucket refills at
`per_minute` tokens a minute, so an address gets at most `per_minute` guesses a minute (a burst of that many,
then one every 60/`per_minute` s). A missing key is a 401 but not a guess, so it is not counted. Public paths
(`/health`, `/metrics`, the docs) are never throttled. `per_minute=0` turns throttling off. The request
path awaits `check_async` / `failed_async` (a Redis store shares the counts between workers and hosts);
`check` / `failed` are the same over a synchronous (memory) store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ttsign.server.errors import ApiError
from ttsign.server.limits import LimitStatus, RateLimiter
from ttsign.store.base import AsyncRateStore, RateStore

LABEL = "auth_failures"


class AuthThrottle:
    def __init__(
        self, store: RateStore | AsyncRateStore, per_minute: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.per_minute = per_minute
        self._limiter = RateLimiter(store, {"rate_limit_minute": per_minute}, clock)

    @staticmethod
    def _bucket(address: str) -> str:
        return f"authfail:{address}"

    def check(self, address: str) -> None:
        """Raise the 429 when `address` has used up its failed attempts; otherwise nothing."""
        if self.per_minute <= 0:
            return
        self._refuse(self._limiter.status(self._bucket(address)))

    async def check_async(self, address: str) -> None:
        """`check`, through the store's async operations."""
        if self.per_minute > 0:
            self._refuse(await self._limiter.status_async(self._bucket(address)))

    async def failed_async(self, address: str) -> None:
        """`failed`, through the store's async operations."""
        if self.per_minute > 0:
            await self._limiter.hit_async(self._bucket(address))

    def _refuse(self, statuses: list[LimitStatus]) -> None:
        for status in statuses:
            if not status.state.allowed:
                wait = max(1, math.ceil(status.state.retry_after_s))
                reset = int(self._limiter.clock()) + wait
                raise ApiError(
                    429,
                    f"Too many failed API-key attempts from this address (limit {self.per_minute} a minute); "
                    f"retry in {wait} s",
                    headers={
                        "Retry-After": str(wait),
                        "RateLimit-Remaining": str(wait),
                        "RateLimit-Reset": str(reset),
                        "X-RateLimit-Reset": str(reset),
                        "RateLimit-Limit": str(self.per_minute),
                    },
                    extra={"limit_label": LABEL},
                )

    def failed(self, address: str) -> None:
        """Count one wrong key presented from `address`."""
        if self.per_minute > 0:
            self._limiter.hit(self._bucket(address))
