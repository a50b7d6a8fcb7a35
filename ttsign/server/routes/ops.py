"""Operations: `/health`, `/livez`, `/readyz` (see `ttsign.server.health`), `/metrics` (Prometheus),
`/webcast/rate_limits` (the caller's limits)."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field

from ttsign.server import metrics
from ttsign.server.deps import services
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
