"""Prometheus metrics (prometheus-client), registered once per process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "ttsign_http_requests", "HTTP requests by route and status", ["route", "method", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "ttsign_http_request_seconds",
    "HTTP request latency by route",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
SIGN_LATENCY = Histogram(
    "ttsign_sign_seconds",
    "Time to compute tokens, by signing product / algorithm",
    ["algorithm"],
    buckets=(0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1),
    registry=REGISTRY,
)
RATE_LIMITED = Counter("ttsign_rate_limited", "Requests refused by rate limits", ["route", "limit"], registry=REGISTRY)
UPSTREAM = Counter(
    "ttsign_upstream_requests", "Calls to TikTok by endpoint and outcome", ["endpoint", "outcome"], registry=REGISTRY
)
