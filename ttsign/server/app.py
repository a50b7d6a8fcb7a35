"""ASGI app factory: the three API surfaces (origin, client-compatible, native) plus ops.

`create_app()` reads settings from the environment; tests pass their own `Settings` / `Signer`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from ttsign import __version__
from ttsign.api_keys import load_keys
from ttsign.config import Settings, get_settings
from ttsign.monitor import alerts, maintenance
from ttsign.monitor import service as monitor_service
from ttsign.monitor.bus import EventBus
from ttsign.providers.chain import ProviderChain
from ttsign.providers.factory import build_chain, parse_providers
from ttsign.relay import service as relay_service
from ttsign.server import cors, health, logs, metrics, openapi
from ttsign.server.deps import Services, observe_signing, request_id
from ttsign.server.errors import ApiError, error_response
from ttsign.server.fast_log import FastLogger
from ttsign.server.middleware import PUBLIC_PREFIX, install_pipeline, make_limiter
from ttsign.server.provider_metrics import ProviderMetrics
from ttsign.server.routes import (
    admin,
    connect,
    euler_ws,
    ops,
    origin,
    overlay,
    pages,
    providers,
    relay_routes,
    sign_url,
    status,
    tokens,
    v1,
)
from ttsign.signing.factory import make_signer as make_signer  # re-exported: the factory moved to the signing layer
from ttsign.signing.factory import make_ws_signer as make_ws_signer
from ttsign.signing.service import SigningService
from ttsign.signing.signer import Signer
from ttsign.store.memory import MemoryRateStore
from ttsign.tiktok.client import TikTokClient

# The signing routes first: FastAPI tries routes in order (most of them are answered before it, by `HotRoutes`).
ROUTE_MODULES: tuple[ModuleType, ...] = (origin, sign_url, v1, pages, ops, providers, relay_routes, connect)
ROUTE_MODULES += (admin, status, euler_ws, tokens, overlay)  # issues 9 and 12 (relay_routes before connect's :path)
DESCRIPTION = """Self-hosted TikTok web signing (X-Bogus, X-Gnarly, X-Dynosaur) in pure Python.

Three surfaces: the origin API (`/signature`, `/sign`), the client-compatible API that TikTokLive 7.x and
tiktok-live-connector 2.x call (`/webcast/*`, `/tiktok/sign_url`), and the native API (`/v1/*`).
Errors are JSON `{"code": N, "message": "..."}`."""


class StoreError(ValueError):
    """TTSIGN_STORE names a store this build cannot use (a one-line message naming the setting)."""


STORES = ("memory", "redis://", "rediss://", "unix://")  # memory: this process; the URLs: a shared Redis/Valkey


def make_store(settings: Settings) -> Any:
    """The rate-limit store named by TTSIGN_STORE; anything but a supported store stops start-up in one line.
    A Redis URL gives `ttsign.store.fallback.FallbackRateStore`: Redis, or a local share while it fails."""
    # only a URL's scheme is echoed: a store URL can hold a password
    shown = settings.store.split("://", 1)[0] + "://..." if "://" in settings.store else repr(settings.store)
    if settings.store == "memory":
        return MemoryRateStore()
    if settings.store.split("://", 1)[0].lower() + "://" not in STORES[1:]:
        raise StoreError(f"TTSIGN_STORE={shown} is not a known store; supported: memory, redis://, rediss://, unix://")
    from ttsign.store.factory import StoreUnavailable, open_redis

    try:
        return open_redis(settings, events=metrics.StoreEvents())
    except StoreUnavailable as exc:
        raise StoreError(f"TTSIGN_STORE={shown}: {exc}") from None


def make_chain(settings: Settings, signer: Signer) -> ProviderChain:
    """The provider chain TTSIGN_PROVIDERS names (built, not started), its events counted in `/metrics`.

    Raises a one-line ValueError for a bad provider setting, and `ProviderError('unavailable')` for a
    provider that cannot be built here (the browser without its extra or Chromium): `ttsign serve` checks
    both before it starts (cli.py)."""
    events = ProviderMetrics(parse_providers(settings.providers))
    chain = build_chain(settings, SigningService(signer, observe=observe_signing), events=events)
    from ttsign.store.redis import is_redis_url

    if is_redis_url(settings.store):  # breaker state shared by every instance (ttsign/store/breakers.py)
        from ttsign.store.breakers import SharedBreakers, breaker_store_events
        from ttsign.store.factory import open_redis

        SharedBreakers.attach(chain, open_redis(settings, events=breaker_store_events()))
    return chain


def telemetry_config() -> TelemetryConfig | None:
    """FastAPI's native OpenTelemetry: its defaults when the operator set any `OTEL_*` variable, else off (it
    otherwise asks the global providers on every request whether anyone configured them)."""
    if any(name.startswith("OTEL_") for name in os.environ) or os.environ.get("FASTAPI_OTEL_AUTO_CONFIGURE"):
        return None
    return {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None, *, signer: Signer | None = None, upstream: Any = None) -> FastAPI:
    settings = settings or get_settings()  # logging and the GC are the process's: `ttsign serve` sets them up
    keys = load_keys(settings.api_keys, settings.api_keys_file)
    limiter = make_limiter(settings, keys, make_store(settings))
    signer = signer or make_signer(settings)
    chain = make_chain(settings, signer)
    tiktok = upstream if upstream is not None else TikTokClient(settings, ws_signer=make_ws_signer(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # A provider that cannot start (a browser that fails to launch) is logged and fails its calls: the
        # chain signs with the others, and /health and /v1/providers show it.
        await chain.start()
        started: list[Any] = []
        try:
            for companion in companions:  # alerts, maintenance, monitor, relay (issues 9 and 12), in order
                await companion.start()
                started.append(companion)
            health.on_startup(_app)  # the signer self-test; /readyz answers 200 once it passed
            yield
        finally:
            health.on_shutdown(_app)  # /readyz answers 503 from here on
            try:
                for companion in reversed(started):  # one that fails to close never keeps the others open
                    try:
                        await companion.close()
                    except Exception as exc:
                        logs.get_logger("ttsign.serve").warning(
                            "companion_close_failed", companion=type(companion).__name__, error=repr(exc)[:300]
                        )
                await chain.close()  # browsers and clients first (no orphaned Chromium), then the upstream
            finally:
                await tiktok.close()
                await limiter.store.aclose()  # a Redis store's connections (the memory store has none)

    app = FastAPI(
        title="ttsign",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=openapi.TAGS,
        docs_url=None,  # `/docs` and `/redoc` come from `pages`, with their assets served locally
        redoc_url=None,
        telemetry=telemetry_config(),
    )
    pages.mount_docs(app, PUBLIC_PREFIX)
    app.state.services = svc = Services(settings, signer, limiter, tiktok, chain=chain)
    svc.events = EventBus()
    companions: list[Any] = []
    for feature in (alerts, maintenance, monitor_service, relay_service):  # each builds its objects onto svc
        companions += feature.install(svc)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc, request_id(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error_response(ApiError(422, f"invalid request: {where} {first.get('msg', '')}".strip()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "no such route on this ttsign server", 405: "method not allowed on this route"}.get(
            exc.status_code, str(exc.detail)
        )
        return error_response(ApiError(exc.status_code, message, headers=dict(exc.headers or {})))

    routes = [r for module in ROUTE_MODULES for r in module.router.routes]
    app.router.routes.extend(routes)  # flat: FastAPI 0.165 matches an included router's routes twice, nested
    openapi.install(app)
    install_pipeline(
        app,
        settings,
        keys=keys.keys,
        limiter=limiter,
        logger=FastLogger("ttsign.http"),  # the access line, cheaper (`fast_log`)
        routes=routes,
    )
    cors.install(app, settings.cors_origins)  # last, so outermost: preflights never reach the guard
    return app
