"""Per-caller rate limits: minute / hour / day token buckets over a `RateStore`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from ttsign.store.base import BucketState, RateStore

WINDOWS = (("rate_limit_minute", 60.0), ("rate_limit_hour", 3600.0), ("rate_limit_day", 86400.0))


@dataclass(frozen=True)
class LimitStatus:
    label: str
    limit: int
    window_s: float
    state: BucketState


@dataclass(frozen=True)
class Decision:
    allowed: bool
    statuses: tuple[LimitStatus, ...]
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


class RateLimiter:
    def __init__(self, store: RateStore, limits: dict[str, int], clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.limits = [(label, limits.get(label, 0), window) for label, window in WINDOWS]
        self.clock = clock

    def hit(self, caller: str) -> Decision:
        """Take one token from each window; refuse if any window is empty.

        The windows are checked first without taking, so a refused call does not drain the others.
        """
        now = self.clock()
        active = [(lbl, lim, win) for lbl, lim, win in self.limits if lim > 0]
        for label, limit, window in active:
            st = self.store.peek(f"{caller}:{label}", limit, window, now)
            if not st.allowed:
                blocked = LimitStatus(label, limit, window, st)
                return Decision(False, (blocked,), blocked)
        statuses = []
        for label, limit, window in active:
            st = self.store.take(f"{caller}:{label}", limit, window, now)
            statuses.append(LimitStatus(label, limit, window, st))
            if not st.allowed:  # lost a race with another request
                return Decision(False, tuple(statuses), statuses[-1])
        return Decision(True, tuple(statuses))

    def status(self, caller: str) -> list[LimitStatus]:
        now = self.clock()
        return [
            LimitStatus(lbl, lim, win, self.store.peek(f"{caller}:{lbl}", lim, win, now))
            for lbl, lim, win in self.limits
            if lim > 0
        ]
