"""In-process token buckets (the default store). Thread-safe; state is lost on restart."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ttsign.store.base import Bucket, BucketState


class MemoryRateStore:
    """Token buckets in a dict; idle buckets are dropped once full so memory stays bounded."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last update)
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def _level(self, key: str, capacity: int, window_s: float, now: float) -> float:
        tokens, last = self._buckets.get(key, (float(capacity), now))
        rate = capacity / window_s
        return min(float(capacity), tokens + max(0.0, now - last) * rate)

    @staticmethod
    def _state(allowed: bool, tokens: float, capacity: int, window_s: float) -> BucketState:
        rate = capacity / window_s if capacity else 0.0
        retry = 0.0 if tokens >= 1 or not rate else (1 - tokens) / rate
        full = 0.0 if not rate else (capacity - tokens) / rate
        return BucketState(allowed, int(tokens), retry, full)

    def take(self, key: str, capacity: int, window_s: float, now: float, cost: int = 1) -> BucketState:
        if capacity <= 0:  # a limit of 0 means "unlimited"
            return BucketState(True, 0, 0.0, 0.0)
        with self._lock:
            tokens = self._level(key, capacity, window_s, now)
            allowed = tokens >= cost
            if allowed:
                tokens -= cost
            if len(self._buckets) >= self._max_keys and key not in self._buckets:
                self._evict(now, window_s)
            self._buckets[key] = (tokens, now)
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
                    self._buckets[key] = (level - 1, now)
            return -1

    def peek(self, key: str, capacity: int, window_s: float, now: float) -> BucketState:
        if capacity <= 0:
            return BucketState(True, 0, 0.0, 0.0)
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
