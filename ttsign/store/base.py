"""The store interface: rate-limit buckets (and, later, identities) shared by server instances.

Two shapes of the same token buckets: `RateStore`, synchronous (the in-process memory store, cheap enough to
call on the request path as it is), and `AsyncRateStore`, what the request path actually awaits (the memory
store answers it without a thread or a round trip; the Redis store, `ttsign.store.redis`, with one Lua call;
the fallback wrapper, `ttsign.store.fallback`, with either). Both give the same answers for the same calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class BucketState:
    """The result of taking from (or peeking at) one token bucket."""

    allowed: bool
    remaining: int  # whole tokens left after this call
    retry_after_s: float  # seconds until one token is available (0 when allowed)
    full_after_s: float  # seconds until the bucket is full again


Bucket = tuple[str, int, float]
"""One bucket of a `take_all`: (key, capacity, window_s)."""

UNLIMITED = BucketState(True, 0, 0.0, 0.0)
"""What a bucket of capacity 0 (no limit) answers."""


def bucket_state(allowed: bool, tokens: float, capacity: int, window_s: float) -> BucketState:
    """The state of a bucket holding `tokens` (fractional) of `capacity`, refilled over `window_s`."""
    rate = capacity / window_s if capacity else 0.0
    retry = 0.0 if tokens >= 1 or not rate else (1 - tokens) / rate
    full = 0.0 if not rate else (capacity - tokens) / rate
    return BucketState(allowed, int(tokens), retry, full)


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


@runtime_checkable
class AsyncRateStore(Protocol):
    """`RateStore`'s operations, awaited: what the request path calls. Same arguments, same answers.

    `kind` names the store (`memory`, `redis`) for `/health`; `health()` is its state for `/health`
    without a round trip (`status` `ok`, `degraded` or `down`, and a `detail`); `aclose()` releases it.
    """

    kind: str

    async def take_async(self, key: str, capacity: int, window_s: float, now: float, cost: int = 1) -> BucketState: ...

    async def peek_async(self, key: str, capacity: int, window_s: float, now: float) -> BucketState: ...

    async def take_all_async(self, buckets: Sequence[Bucket], now: float) -> int: ...

    def health(self) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...
