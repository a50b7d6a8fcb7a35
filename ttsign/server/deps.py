"""Shared objects a route needs, hung on `app.state` by the app factory."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from starlette.requests import Request

from ttsign.config import Settings
from ttsign.providers.chain import ProviderChain
from ttsign.providers.native import NativeProvider
from ttsign.server import metrics
from ttsign.server.limits import RateLimiter
from ttsign.signing.service import SigningService
from ttsign.signing.signer import Signer


@lru_cache(maxsize=64)  # a label per product: a handful
def _sign_latency(label: str) -> Any:
    return metrics.SIGN_LATENCY.labels(label)


def observe_signing(label: str, seconds: float) -> None:
    """The signing service's latency hook: `ttsign_sign_seconds` by product (the child looked up once)."""
    _sign_latency(label).observe(seconds)


@dataclass
class Services:
    settings: Settings
    signer: Signer
    limiter: RateLimiter
    upstream: Any = None  # ttsign.tiktok client facade (live connect); None when not configured
    chain: ProviderChain | None = None
    """The provider chain the app factory built; None gives native only."""
    # Issue 9 and 12 objects, built by the app factory (None: not configured / not yet built)
    events: Any = None  # ttsign.monitor.bus.EventBus
    monitor: Any = None  # the monitor's state (cycles kept, last drift): ttsign.monitor
    maintenance: Any = None  # the maintenance flag (shared through the store)
    alerts: Any = None  # the alerter (apprise sinks)
    relay: Any = None  # ttsign.relay hub: one upstream socket per room
    started_at: float = field(default_factory=time.time)
    providers: ProviderChain = field(init=False)
    """What the signing routes call (`server.signing_call.sign`)."""
    signing: SigningService = field(init=False)
    """The native signer plus the legacy products, latencies recorded."""

    def __post_init__(self) -> None:
        self.signing = SigningService(self.signer, observe=observe_signing)
        self.providers = self.chain if self.chain is not None else ProviderChain([NativeProvider(self.signing)])


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))
