"""The shared store from the settings: `TTSIGN_STORE=redis://...` (or `rediss://`, `unix://`) as a
`FallbackRateStore` over a `RedisRateStore`, with `TTSIGN_STORE_PREFIX`, `TTSIGN_STORE_TIMEOUT_MS`, and a
fallback share of `TTSIGN_INSTANCES` x workers (`TTSIGN_WORKERS`, which `ttsign serve --workers` sets)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ttsign.config import Settings
    from ttsign.store.fallback import FallbackRateStore


class StoreUnavailable(ValueError):
    """The store URL cannot be used (redis-py missing, or a malformed URL); the message names no secret."""


def fallback_share(settings: Settings) -> int:
    """How many processes share each limit: every worker of every instance."""
    return settings.instances * settings.workers


def open_redis(settings: Settings, events: Any = None) -> FallbackRateStore:
    try:
        from ttsign.store.fallback import FallbackRateStore
        from ttsign.store.redis import RedisRateStore
    except ImportError:
        raise StoreUnavailable("needs the redis package: pip install 'ttsign[redis]' (redis-py 5 or later)") from None
    try:
        primary = RedisRateStore(
            settings.store, prefix=settings.store_prefix, timeout_s=settings.store_timeout_ms / 1000
        )
    except ValueError as exc:
        raise StoreUnavailable(f"not a usable Redis URL ({type(exc).__name__})") from None
    return FallbackRateStore(primary, share=fallback_share(settings), events=events)
