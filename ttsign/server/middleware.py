"""The request pipeline, composed: which paths are public or unmetered, and the middlewares in order.

Each middleware does one thing (`ttsign.server.pipeline`); `install_pipeline` adds them, outermost first:
request id, access log and metrics (with the JSON 500 of last resort), size limit, API-key auth,
maintenance (503 on the signing and connect routes while it is on), rate limit, and innermost the hot
signing routes called without FastAPI's router (`hot_routes`). CORS, when configured, goes
outside all of them (`ttsign.server.cors`).

Rate limits: with keys, every keyed route counts against the caller's key (the server's limits, or the
key's own from the keys file). In open mode (no keys: loopback only) the signing routes are not limited,
since signing costs the server microseconds and the only caller is this machine; the connect and room
routes keep the per-address limits (and the identity pool paces their connects either way).
`TTSIGN_OPEN_RATE_LIMIT=true` limits the signing routes in open mode too.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from ttsign.api_keys import ApiKeys
from ttsign.config import Settings
from ttsign.relay.tokens import RoomTokens
from ttsign.server.auth import KeyRing, key_id
from ttsign.server.auth_throttle import AuthThrottle
from ttsign.server.limits import RateLimiter
from ttsign.server.pipeline.access_log import AccessLog
from ttsign.server.pipeline.api_key_auth import ApiKeyAuth
from ttsign.server.pipeline.asgi import PathSet
from ttsign.server.pipeline.hot_routes import HotRoutes
from ttsign.server.pipeline.maintenance import Maintenance, app_flag
from ttsign.server.pipeline.rate_limit import RateLimit
from ttsign.server.pipeline.request_id import RequestId
from ttsign.server.pipeline.size_limit import SizeLimit
from ttsign.store.base import RateStore

PUBLIC_PATHS = frozenset(
    {"/", "/health", "/livez", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}
)
PUBLIC_PREFIX = "/docs/assets/"  # the docs pages' scripts and styles, served from the package
ADMIN_PREFIX = "/v1/admin/"  # no API key: the admin routes take an admin key (TTSIGN_ADMIN_KEYS), never open
UNMETERED_PATHS = frozenset({"/webcast/rate_limits", "/accounts/me/rate_limits"})
SIGNING_PATHS = frozenset(
    {"/signature", "/sign", "/webcast/sign_url", "/tiktok/sign_url", "/v1/sign", "/v1/decode"}
    | {"/tiktok/signing/encrypt/sign_url", "/webcast/sign_url/"}  # Euler's SDKs, TikTokLive 6.6 (issue 10)
)
"""Routes that only compute (no call to TikTok): not rate limited in open mode unless TTSIGN_OPEN_RATE_LIMIT."""


def server_limits(settings: Settings) -> dict[str, int]:
    return {
        "rate_limit_minute": settings.rate_limit_minute,
        "rate_limit_hour": settings.rate_limit_hour,
        "rate_limit_day": settings.rate_limit_day,
    }


def make_limiter(settings: Settings, keys: ApiKeys, store: RateStore) -> RateLimiter:
    """The server's limits for every caller; a key the keys file gives its own limits gets those instead
    (per window: a window its line does not name keeps the server's)."""
    limits = server_limits(settings)
    overrides = {key_id(key): {**limits, **own} for key, own in keys.limits.items()}
    return RateLimiter(store, limits, overrides=overrides)


def unmetered_paths(settings: Settings, keys: frozenset[str]) -> PathSet:
    """Paths no rate limit counts: the public ones, reading your own limits, and in open mode the signing
    routes (unless `TTSIGN_OPEN_RATE_LIMIT`)."""
    exact = PUBLIC_PATHS | UNMETERED_PATHS
    if not keys and not settings.open_rate_limit:
        exact |= SIGNING_PATHS
    return PathSet(exact, (PUBLIC_PREFIX,))


def install_pipeline(
    app: Starlette,
    settings: Settings,
    *,
    keys: frozenset[str],
    limiter: RateLimiter,
    logger: Any,
    routes: list[BaseRoute],
) -> None:
    """Add the middlewares to `app`. Starlette wraps the last one added outermost, so they go in innermost
    first; the request meets them in the reverse of this order."""
    app.add_middleware(HotRoutes, routes=routes, paths=SIGNING_PATHS)  # innermost: the router, bypassed
    app.add_middleware(RateLimit, limiter=limiter, unmetered=unmetered_paths(settings, keys))
    app.add_middleware(Maintenance, paths=SIGNING_PATHS, flag=app_flag(app))  # 503 while maintenance mode is on
    app.add_middleware(
        ApiKeyAuth,
        keys=KeyRing(keys),
        throttle=AuthThrottle(limiter.store, settings.auth_failures_per_minute, limiter.clock),
        public=PathSet(PUBLIC_PATHS, (PUBLIC_PREFIX, ADMIN_PREFIX)),  # admin routes check their own key
        tokens=RoomTokens.from_settings(settings),  # ?token= on the relay paths (issue 12)
    )
    app.add_middleware(
        SizeLimit,
        max_bytes=settings.max_url_bytes + settings.max_body_bytes + 8192,
        body_timeout_s=settings.body_timeout_s,
    )
    app.add_middleware(AccessLog, logger=logger, routes=routes)
    app.add_middleware(RequestId)
