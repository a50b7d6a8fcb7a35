"""Operations: `/health`, `/livez`, `/readyz` (see `ttsign.server.health`), `/metrics` (Prometheus),
`/webcast/rate_limits` (the caller's limits) and `/accounts/me/rate_limits` (the same, in Euler's shape)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field

from ttsign.server import metrics
from ttsign.server.deps import services
from ttsign.server.errors import ApiError
from ttsign.server.health import tracker
from ttsign.server.openapi import ANY, HEAD_OK, KEYED, METRICS_OK, ErrorBody, RateLimitsOut, responses

router = APIRouter(tags=["ops"])


class HealthOut(BaseModel):
    """`/health`: overall `ok`, `degraded` (HTTP 200: signing works, TikTok calls fail) or `down` (HTTP 503:
    the signer self-test or the store failed), each component's state and evidence, and `reasons`."""

    model_config = ConfigDict(extra="allow")
    status: Literal["ok", "degraded", "down"]
    timestamp: int
    version: str
    uptime_s: float
    reasons: list[str]
    counts: dict[str, int]
    components: dict[str, Any] = Field(description="signer, providers, store, upstream, identity_pool")


class LiveOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["ok"]
    timestamp: int
    uptime_s: float


class ReadyOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["ready", "not_ready"]
    timestamp: int
    checks: dict[str, str]


def _or_error(model: type[BaseModel], description: str) -> dict[str, Any]:
    """A 503 that is either this route's own answer or the transport's JSON error (connection cap, shutdown)."""
    return {"model": model | ErrorBody, "description": description}  # type: ignore[operator]


HEALTH_RESPONSES = {
    **responses(HealthOut, *ANY),
    503: _or_error(HealthOut, "`down`: the signer self-test or the store failed (or the server's connection cap)"),
}
READY_RESPONSES = {
    **responses(ReadyOut, *ANY),
    503: _or_error(ReadyOut, "Not ready: start-up not done, signer self-test failed, or shutting down"),
}


@router.get("/health", summary="Component status with evidence: ok, degraded or down", responses=HEALTH_RESPONSES)
async def health(request: Request) -> JSONResponse:
    status, body = tracker(request.app).health()
    return JSONResponse(body, status_code=status)


@router.head(
    "/health",
    summary="Component status, headers only (what load balancers and uptime checks send)",
    response_class=Response,
    responses={**responses(HEAD_OK, *ANY), 503: {"description": "`down` (see GET /health)"}},
)
async def health_head(request: Request) -> Response:
    return await health(request)  # the server sends the GET's headers and drops the body


@router.get("/livez", summary="Liveness: the process answers (always 200)", responses=responses(LiveOut, *ANY))
async def livez(request: Request) -> JSONResponse:
    return JSONResponse(tracker(request.app).live())


@router.get("/readyz", summary="Readiness: start-up done and the signer self-test passed", responses=READY_RESPONSES)
async def readyz(request: Request) -> JSONResponse:
    ready, body = tracker(request.app).ready()
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response, responses=responses(METRICS_OK, *ANY))
async def prometheus_metrics(request: Request) -> Response:
    health_ = tracker(request.app)
    health_.update_pool_gauges()
    body = metrics.exposition(workers=services(request).settings.workers)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/webcast/rate_limits",
    summary="The caller's rate limits and current usage",
    responses=responses(RateLimitsOut, *ANY, *KEYED),
)
async def rate_limits(request: Request) -> JSONResponse:
    svc = services(request)
    caller = str(request.scope.get("state", {}).get("caller", "anonymous"))
    now = time.time()
    limits = []
    for st in await svc.limiter.status_async(caller):
        limits.append(
            {
                "label": st.label,
                "limit": st.limit,
                "window_seconds": int(st.window_s),
                "remaining": st.state.remaining,
                "used": st.limit - st.state.remaining,
                "reset_at": int(now + st.state.full_after_s),
            }
        )
    return JSONResponse({"code": 200, "message": "rate limits for this caller", "caller": caller, "limits": limits})


class EulerWindow(BaseModel):
    """One window as Euler's SDKs parse it (`RateLimitInfo`): `reset_at` is null while nothing is used."""

    model_config = ConfigDict(extra="allow")
    max: int
    remaining: int
    reset_at: str | None = Field(description="ISO 8601 UTC time the window is whole again; null when it is")


class EulerRateLimitsOut(BaseModel):
    """`GET /accounts/me/rate_limits` (Euler's `GetRateLimits`): a window this server does not limit is absent."""

    model_config = ConfigDict(extra="allow")
    code: int
    message: str
    minute: EulerWindow | None = None
    hour: EulerWindow | None = None
    day: EulerWindow | None = None


EULER_LIMIT_TYPES = ("WEBCAST", "ALERTS", "RATE_LIMITS", "CATALOG", "RANKINGS")
"""Euler's `RateLimitType`. ttsign has one set of limits for all its routes, so every type answers it."""
EULER_WINDOWS = {"rate_limit_minute": "minute", "rate_limit_hour": "hour", "rate_limit_day": "day"}


def _iso(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@router.get(
    "/accounts/me/rate_limits",
    summary="The caller's rate limits in Euler's shape (tiktok-live-api-sdk, EulerApiSdk)",
    openapi_extra={
        "parameters": [
            {
                "name": "type",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": list(EULER_LIMIT_TYPES)},
                "description": "Euler's limit set; ttsign has one set for all routes, answered for every type",
            }
        ]
    },
    responses=responses(EulerRateLimitsOut, *ANY, *KEYED),
)
async def account_rate_limits(request: Request) -> JSONResponse:
    kind = request.query_params.get("type", "WEBCAST")
    if kind not in EULER_LIMIT_TYPES:
        raise ApiError(400, f"type must be one of {', '.join(EULER_LIMIT_TYPES)}")
    svc = services(request)
    caller = str(request.scope.get("state", {}).get("caller", "anonymous"))
    now = time.time()
    out: dict[str, Any] = {"code": 200, "message": "rate limits for this caller", "caller": caller, "type": kind}
    for st in await svc.limiter.status_async(caller):
        window = EULER_WINDOWS.get(st.label)
        if window is None:
            continue
        whole = st.state.remaining >= st.limit
        out[window] = {
            "max": st.limit,
            "remaining": st.state.remaining,
            "reset_at": None if whole else _iso(now + st.state.full_after_s),
        }
    return JSONResponse(out)
