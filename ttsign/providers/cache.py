"""The stale-if-error cache (the origin's "cached signatures"): the last good answer to an identical request,
served only when every provider failed.

Keyed by `SignJob.cache_key()` (URL, method, body hash, User-Agent, legacy). With `TTSIGN_CACHE_TTL` > 0
every successful answer is stored (one dict write into a `cachetools.TTLCache`: a few microseconds on the
hot path); an entry is served only while it is younger than the TTL, as a copy marked `cached=True` with
its `age_s`. At most `TTSIGN_CACHE_SIZE` entries (least recently used first out).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from cachetools import TTLCache

from ttsign.providers.base import ProviderAnswer, SignJob


class StaleCache:
    def __init__(self, ttl_s: float, size: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s <= 0 or size < 1:
            raise ValueError("the stale-if-error cache needs a positive TTL and size (a TTL of 0 is: no cache)")
        self.ttl_s = ttl_s
        self.size = size
        self._clock = clock
        self._entries: TTLCache[tuple[str, str, str, str, bool], tuple[ProviderAnswer, float]] = TTLCache(
            maxsize=size, ttl=ttl_s, timer=clock
        )
        self.stored = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, job: SignJob, answer: ProviderAnswer) -> None:
        """Remember a fresh answer (as signed: never a cached one)."""
        self._entries[job.cache_key()] = (answer, self._clock())
        self.stored += 1

    def get(self, job: SignJob) -> ProviderAnswer | None:
        """A copy of the entry for `job`, marked cached with its age, while younger than the TTL; else None."""
        entry = self._entries.get(job.cache_key())
        if entry is not None:
            answer, stored_at = entry
            age = self._clock() - stored_at
            if age < self.ttl_s:
                self.hits += 1
                return replace(answer, cached=True, age_s=age, failures=())
        self.misses += 1
        return None

    def stats(self) -> dict[str, float | int]:
        return {
            "ttl_s": self.ttl_s,
            "size": self.size,
            "entries": len(self._entries),
            "stored": self.stored,
            "hits": self.hits,
            "misses": self.misses,
        }
