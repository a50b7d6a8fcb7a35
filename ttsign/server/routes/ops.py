"""Operations: `/health`, `/metrics` (Prometheus), `/webcast/rate_limits` (the caller's limits)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ttsign import __version__
from ttsign.server import metrics
from ttsign.server.deps import services
from ttsign.server.openapi import ANY, HEAD_OK, KEYED, METRICS_OK, Health, RateLimitsOut, responses

router = APIRouter(tags=["ops"])


@router.get("/health", summary="Liveness and component status", responses=responses(Health, *ANY))
async def health(request: Request) -> JSONResponse:
    svc = services(request)
    return JSONResponse(
        {
            "status": "ok",
            "timestamp": int(time.time()),
            "version": __version__,
            "components": {
                "signer": {
                    "status": "ok",
                    "gnarly_version": svc.signer.options.gnarly_version,
                    "preset": svc.signer.options.preset,
                },
                "providers": [{"name": "native", "status": "ok"}],
                "store": {"kind": svc.settings.store.split(":", 1)[0], "status": "ok"},
            },
        }
    )


@router.head(
    "/health",
    summary="Liveness, headers only (what load balancers and uptime checks send)",
    response_class=Response,
    responses=responses(HEAD_OK, *ANY),
)
async def health_head(request: Request) -> Response:
    return await health(request)  # the server sends the GET's headers and drops the body


@router.get("/metrics", summary="Prometheus metrics", response_class=Response, responses=responses(METRICS_OK, *ANY))
async def prometheus_metrics() -> Response:
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


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
    for st in svc.limiter.status(caller):
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
