"""The provider chain's events as Prometheus metrics (`ChainEvents`, `ttsign.providers.base`).

Per provider: calls by outcome, failures by kind, a latency histogram, the breaker's state as a gauge
(0 closed, 1 half-open, 2 open); shadow comparisons by outcome (and the fields that differed); the
stale-if-error cache by outcome (`hit`, `miss`, `stored`). Every method is cheap and never raises (the
chain calls them on its hot path).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from ttsign.server.metrics import REGISTRY

BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}
MAX_LABEL = 40
"""Label values the chain passes are names it chose; a longer one is cut (bounded label cardinality)."""

PROVIDER_CALLS = Counter(
    "ttsign_provider_calls",
    "Signing calls per provider, by outcome (ok, failed)",
    ["provider", "outcome"],
    registry=REGISTRY,
)
PROVIDER_FAILURES = Counter(
    "ttsign_provider_failures",
    "Failed signing calls per provider, by kind (error, timeout, verify, overloaded, unavailable, crashed, "
    "breaker_open, bad_answer)",
    ["provider", "kind"],
    registry=REGISTRY,
)
PROVIDER_LATENCY = Histogram(
    "ttsign_provider_seconds",
    "Time of one provider's signing call (ok or failed)",
    ["provider"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
PROVIDER_BREAKER = Gauge(
    "ttsign_provider_breaker_state",
    "Each provider's circuit breaker: 0 closed, 1 half-open (one probe allowed), 2 open",
    ["provider"],
    registry=REGISTRY,
)
PROVIDER_BREAKER_CHANGES = Counter(
    "ttsign_provider_breaker_transitions",
    "Breaker state changes per provider, by the state entered",
    ["provider", "state"],
    registry=REGISTRY,
)
SHADOW = Counter(
    "ttsign_provider_shadow_comparisons",
    "Shadow comparisons: a request signed by `provider` also signed by `other`, by outcome (agree, disagree, failed)",
    ["provider", "other", "outcome"],
    registry=REGISTRY,
)
SHADOW_FIELDS = Counter(
    "ttsign_provider_shadow_disagreements",
    "Fields that differed in shadow comparisons",
    ["provider", "other", "field"],
    registry=REGISTRY,
)
CACHE = Counter(
    "ttsign_provider_cache",
    "Stale-if-error cache: hit (an answer served from it), miss (nothing fresh), stored",
    ["outcome"],
    registry=REGISTRY,
)


def _label(value: str) -> str:
    return str(value)[:MAX_LABEL]


@lru_cache(maxsize=256)  # providers x outcomes: a handful; the bound is a guard
def _call_series(provider: str, outcome: str) -> tuple[Any, Any]:
    """The children a call updates (`labels()` costs more than the update itself: about 1.5 µs each)."""
    p = _label(provider)
    return PROVIDER_CALLS.labels(p, _label(outcome)), PROVIDER_LATENCY.labels(p)


class ProviderMetrics:
    """`ChainEvents` for the server: each event goes to the metrics above."""

    def __init__(self, providers: Iterable[str] = ()) -> None:
        for name in providers:  # every configured provider shows up before its first call
            self.declare(name)

    @staticmethod
    def declare(provider: str) -> None:
        p = _label(provider)
        PROVIDER_BREAKER.labels(p).set(0)
        for outcome in ("ok", "failed"):
            PROVIDER_CALLS.labels(p, outcome)
        PROVIDER_LATENCY.labels(p)

    def call(self, provider: str, outcome: str, kind: str, seconds: float) -> None:
        try:
            calls, latency = _call_series(provider, outcome)  # looked up once per (provider, outcome)
            calls.inc()
            if kind:
                PROVIDER_FAILURES.labels(_label(provider), _label(kind)).inc()
            latency.observe(max(0.0, float(seconds)))
        except Exception:  # a metric must never break a signing call
            return

    def breaker(self, provider: str, state: str) -> None:
        try:
            p = _label(provider)
            PROVIDER_BREAKER.labels(p).set(BREAKER_VALUES.get(state, 2))
            PROVIDER_BREAKER_CHANGES.labels(p, _label(state)).inc()
        except Exception:
            return

    def shadow(self, provider: str, other: str, outcome: str, fields: tuple[str, ...]) -> None:
        try:
            p, o = _label(provider), _label(other)
            SHADOW.labels(p, o, _label(outcome)).inc()
            for name in fields[:32]:
                SHADOW_FIELDS.labels(p, o, _label(name)).inc()
        except Exception:
            return

    def cache(self, outcome: str) -> None:
        try:
            CACHE.labels(_label(outcome)).inc()
        except Exception:
            return
