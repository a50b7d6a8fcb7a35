"""The store interface: rate-limit buckets (and, later, identities) shared by server instances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BucketState:
    """The result of taking from (or peeking at) one token bucket."""

    allowed: bool
    remaining: int  # whole tokens left after this call
    retry_after_s: float  # seconds until one token is available (0 when allowed)
    full_after_s: float  # seconds until the bucket is full again


class RateStore(Protocol):
    """Token buckets keyed by string. `capacity` tokens, refilled evenly over `window_s` seconds."""

    def take(self, key: str, capacity: int, window_s: float, now: float, cost: int = 1) -> BucketState: ...

    def peek(self, key: str, capacity: int, window_s: float, now: float) -> BucketState: ...
