"""Shared objects a route needs, hung on `app.state` by the app factory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ttsign.config import Settings
from ttsign.server import metrics
from ttsign.server.limits import RateLimiter
from ttsign.signing.policy import ParsedURL
from ttsign.signing.signer import SignedRequest, Signer


@dataclass
class Services:
    settings: Settings
    signer: Signer
    limiter: RateLimiter
    upstream: Any = None  # ttsign.tiktok client facade (live connect); None when not configured


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def timed_sign(
    svc: Services, url: str | ParsedURL, method: str, body: str | bytes, user_agent: str | None, ms_token: str | None
) -> SignedRequest:
    """Sign through the service's Signer and record the signing latency by product."""
    started = time.perf_counter()
    signed = svc.signer.sign(url, method, body, user_agent, ms_token)
    metrics.SIGN_LATENCY.labels(signed.product.value).observe(time.perf_counter() - started)
    return signed
