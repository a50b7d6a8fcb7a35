"""The rate-limit check's cost per request, memory store vs Redis, side by side in one run.

What the request path awaits for a keyed caller with the three default windows (`RateLimiter.hit_async`:
one `take_all` over minute, hour and day), on one event loop, with limits high enough never to refuse:

* memory: the in-process store (the default), and its synchronous `hit` for comparison;
* redis tcp / redis unix: a `redis-server` this benchmark starts on 127.0.0.1 (and a Unix socket), with
  no persistence, through the fallback wrapper exactly as `TTSIGN_STORE=redis://` runs it (one Lua call).

Each check is timed on its own (`perf_counter_ns`): median and p99 of `SAMPLES` checks after a warm-up,
rounds interleaved so the machine's state hits every row alike. Without redis-server the Redis rows are
skipped (Debian: `apt-get install redis-server`).
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ttsign.server.limits import RateLimiter
from ttsign.store.memory import MemoryRateStore

HUGE = 10**12
LIMITS = {"rate_limit_minute": HUGE, "rate_limit_hour": HUGE, "rate_limit_day": HUGE}
SAMPLES = 4000
ROUNDS = 4
CASES: list[tuple[str, Callable[[], object]]] = []  # everything is in report(): per-call times, not a mean

_LOOP = asyncio.new_event_loop()
_ROWS: dict[str, Callable[[], Awaitable[Any]]] = {}
_SERVER: Any = None


def setup() -> None:
    global _SERVER
    memory = RateLimiter(MemoryRateStore(), LIMITS)
    _ROWS["memory, hit (sync, before)"] = _as_coro(lambda: memory.hit("key:bench"))
    _ROWS["memory, hit_async (request path)"] = lambda: memory.hit_async("key:bench")
    if shutil.which("redis-server") is None:
        return
    from tests.fakes.redis_server import RedisServer
    from ttsign.store.fallback import FallbackRateStore
    from ttsign.store.redis import RedisRateStore

    _SERVER = RedisServer().start()
    atexit.register(_SERVER.close)
    for label, url in (("tcp", _SERVER.url), ("unix", _SERVER.unix_url)):
        store = FallbackRateStore(RedisRateStore(url, prefix=f"bench-{label}:", timeout_s=0.05))
        limiter = RateLimiter(store, LIMITS)
        _ROWS[f"redis {label}, hit_async (request path)"] = lambda limiter=limiter: limiter.hit_async("key:bench")


def _as_coro(fn: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def call() -> Any:
        return fn()

    return call


async def _sample(fn: Callable[[], Awaitable[Any]], n: int) -> list[int]:
    out = []
    clock = time.perf_counter_ns
    for _ in range(n):
        t0 = clock()
        await fn()
        out.append(clock() - t0)
    return out


def report() -> None:
    times: dict[str, list[int]] = {name: [] for name in _ROWS}
    for fn in _ROWS.values():  # warm-up: connections opened, scripts loaded
        _LOOP.run_until_complete(_sample(fn, 200))
    for _ in range(ROUNDS):
        for name, fn in _ROWS.items():
            times[name] += _LOOP.run_until_complete(_sample(fn, SAMPLES // ROUNDS))
    print(f"  rate-limit check per request ({SAMPLES} checks each, 3 windows; us):")
    print(f"    {'store':<40} {'median':>8} {'p99':>8}")
    for name, ns in times.items():
        ns.sort()
        p99 = ns[int(len(ns) * 0.99) - 1]
        print(f"    {name:<40} {statistics.median(ns) / 1000:8.1f} {p99 / 1000:8.1f}")
    if _SERVER is None:
        print("    (redis rows skipped: no redis-server on PATH)")


if __name__ == "__main__":
    setup()
    report()
