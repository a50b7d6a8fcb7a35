"""The store interface: rate-limit buckets (and, later, identities) shared by server instances."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BucketState:
    """The result of taking from (or peeking at) one token bucket."""

    allowed: bool
    remaining: int  # whole tokens left after this call
    retry_after_s: float  # seconds until one token is available (0 when allowed)
    full_after_s: float  # seconds until the bucket is full again


Bucket = tuple[str, int, float]
"""One bucket of a `take_all`: (key, capacity, window_s)."""


class RateStore(Protocol):
    """Token buckets keyed by string. `capacity` tokens, refilled evenly over `window_s` seconds.

    A capacity of 0 (or less) means "unlimited": such a bucket always gives a token and keeps no state.
    """

    def take(self, key: str, capacity: int, window_s: float, now: float, cost: int = 1) -> BucketState: ...

    def peek(self, key: str, capacity: int, window_s: float, now: float) -> BucketState: ...

    def take_all(self, buckets: Sequence[Bucket], now: float) -> int:
        """One token from every bucket, or from none, atomically (one request against its minute, hour and
        day windows). Returns -1 when every bucket gave its token, else the index of the first bucket that
        had none; then nothing was taken from any of them, so a refused request drains no window."""
        ...
