"""In-process token buckets (the default store). Thread-safe; state is lost on restart, and is this process's
alone (with `--workers N` or several hosts, use `TTSIGN_STORE=redis://`: `ttsign.store.redis`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ttsign.store.base import UNLIMITED, Bucket, BucketState, bucket_state


class MemoryRateStore:
    """Token buckets in a dict; idle buckets are dropped once full so memory stays bounded."""

    kind = "memory"

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last update)
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def _level(self, key: str, capacity: int, window_s: float, now: float) -> float:
        tokens, last = self._buckets.get(key, (float(capacity), now))
        rate = capacity / window_s
        return min(float(capacity), tokens + max(0.0, now - last) * rate)

    def _at(self, key: str, now: float) -> float:
        """When a bucket is written: `now`, but never before its last update (a clock a little behind
        another's must not move a bucket back and refill it twice)."""
        held = self._buckets.get(key)
        return now if held is None or held[1] <= now else held[1]

    _state = staticmethod(bucket_state)

    def take(self, key: str, capacity: int, window_s: float, now: float, cost: int = 1) -> BucketState:
        if capacity <= 0:  # a limit of 0 means "unlimited"
            return UNLIMITED
        with self._lock:
            tokens = self._level(key, capacity, window_s, now)
            allowed = tokens >= cost
            if allowed:
                tokens -= cost
            if len(self._buckets) >= self._max_keys and key not in self._buckets:
                self._evict(now, window_s)
            self._buckets[key] = (tokens, self._at(key, now))
            return self._state(allowed, tokens, capacity, window_s)

    def take_all(self, buckets: Sequence[Bucket], now: float) -> int:
        with self._lock:
            levels = []
            for index, (key, capacity, window_s) in enumerate(buckets):
                level = self._level(key, capacity, window_s, now) if capacity > 0 else 1.0
                if level < 1:
                    return index
                levels.append(level)
            for (key, capacity, window_s), level in zip(buckets, levels, strict=True):
                if capacity > 0:
                    if len(self._buckets) >= self._max_keys and key not in self._buckets:
                        self._evict(now, window_s)
                    self._buckets[key] = (level - 1, self._at(key, now))
            return -1

    def peek(self, key: str, capacity: int, window_s: float, now: float) -> BucketState:
        if capacity <= 0:
            return UNLIMITED
        with self._lock:
            tokens = self._level(key, capacity, window_s, now)
        return self._state(tokens >= 1, tokens, capacity, window_s)

    def _evict(self, now: float, window_s: float) -> None:
        stale = [k for k, (_, last) in self._buckets.items() if now - last > window_s]
        for k in stale[: max(1, len(stale))]:
            del self._buckets[k]
        if len(self._buckets) >= self._max_keys:  # still full: drop the oldest tenth
            for k in sorted(self._buckets, key=lambda k: self._buckets[k][1])[: self._max_keys // 10]:
                del self._buckets[k]

    def __len__(self) -> int:
        return len(self._buckets)

    # AsyncRateStore: the same operations, answered in place (no thread, no await inside)

    async def take_async(self, key: str, capacity: int, window_s: float, now: float, cost: int = 1) -> BucketState:
        return self.take(key, capacity, window_s, now, cost)

    async def peek_async(self, key: str, capacity: int, window_s: float, now: float) -> BucketState:
        return self.peek(key, capacity, window_s, now)

    async def take_all_async(self, buckets: Sequence[Bucket], now: float) -> int:
        return self.take_all(buckets, now)

    def health(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": "ok", "detail": "in-process: per worker, emptied on restart"}

    async def aclose(self) -> None:
        return None
