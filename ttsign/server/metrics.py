"""Prometheus metrics (prometheus-client), registered once per process.

Metrics are per process: with `--workers N` each scrape of `/metrics` is answered by one worker, and the
exposition says so (a `# ttsign:` comment and `ttsign_worker_info{pid, workers}`). For whole-server
counts run one worker per container (or per port) and let Prometheus sum them. prometheus_client's
multiprocess mode is not used (it needs a shared directory and gives up the process collector).
"""

from __future__ import annotations

import os
import platform

from prometheus_client import (
    GC_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from ttsign import __version__

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes, open fds ...
PlatformCollector(registry=REGISTRY)  # python_info
REGISTRY.register(GC_COLLECTOR)  # python_gc_*

BUILD = Info("ttsign_build", "The running ttsign: version and Python", registry=REGISTRY)
BUILD.info({"version": __version__, "python": platform.python_version()})
WORKER = Gauge(
    "ttsign_worker_info",
    "1 for the worker process answering this scrape (metrics are per worker)",
    ["pid", "workers"],
    registry=REGISTRY,
)

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

UPSTREAM_REQUESTS = Counter(
    "ttsign_upstream_requests",
    "Calls to TikTok (redirects followed) by upstream base, outcome (answered, timeout, unreachable, redirect, "
    "too_large, cancelled) and status class (2xx..5xx, none)",
    ["upstream", "outcome", "status_class"],
    registry=REGISTRY,
)
UPSTREAM_LATENCY = Histogram(
    "ttsign_upstream_request_seconds",
    "Time of one call to TikTok (all its hops), by upstream base",
    ["upstream"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
POOL_IDENTITIES = Gauge("ttsign_identity_pool_identities", "Anonymous TikTok identities held", registry=REGISTRY)
POOL_CONNECTS_LEFT = Gauge(
    "ttsign_identity_pool_connects_left",
    "Connects the held identities may still make this hour (their pace limits)",
    registry=REGISTRY,
)
POOL_MAX = Gauge("ttsign_identity_pool_max_identities", "How many identities the pool may grow to", registry=REGISTRY)


def exposition(workers: int = 1) -> bytes:
    """The Prometheus text for this process, saying that it is one worker's."""
    pid = str(os.getpid())
    WORKER.clear()
    WORKER.labels(pid, str(workers)).set(1)
    note = f"# ttsign: per-worker metrics: this is pid {pid}, one of {workers} worker(s)"
    if workers > 1:
        note += "; a scrape reaches whichever worker accepts it, so counts here are that worker's alone"
    return note.encode() + b"\n" + generate_latest(REGISTRY)


# The rate-limit store (`ttsign.store.fallback`): with TTSIGN_STORE=redis://, whether Redis answers, the checks
# a local bucket answered instead, and the failed calls by kind. The memory store is always up.
STORE_UP = Gauge("ttsign_store_up", "1 while the rate-limit store answers, 0 while limits fall back", registry=REGISTRY)
STORE_UP.set(1)
STORE_FALLBACK = Counter(
    "ttsign_store_fallback",
    "Rate-limit checks answered by the local fallback while the store failed",
    registry=REGISTRY,
)
STORE_ERRORS = Counter(
    "ttsign_store_errors", "Failed calls to the store by kind (timeout, connection, error)", ["kind"], registry=REGISTRY
)


class StoreEvents:
    """The fallback store's events, as metrics (`ttsign.store.fallback.StoreEvents`)."""

    def up(self, is_up: bool) -> None:
        STORE_UP.set(1 if is_up else 0)

    def fallback(self) -> None:
        STORE_FALLBACK.inc()

    def error(self, kind: str) -> None:
        STORE_ERRORS.labels(kind).inc()


# The LIVE relay (issue 12, `ttsign.relay`): rooms with an upstream socket, subscribers, events by type, reconnects,
# and the events lost when a slow subscriber is cut off.
RELAY_ROOMS = Gauge(
    "ttsign_relay_rooms", "LIVE rooms the relay holds open (one upstream socket each)", registry=REGISTRY
)
RELAY_SUBSCRIBERS = Gauge("ttsign_relay_subscribers", "Subscribers of the relay's rooms", registry=REGISTRY)
RELAY_EVENTS_IN = Counter(
    "ttsign_relay_events_in", "Events decoded from TikTok's room sockets, by type", ["type"], registry=REGISTRY
)
RELAY_EVENTS_OUT = Counter(
    "ttsign_relay_events_out", "Events queued to subscribers (one per subscriber), by type", ["type"], registry=REGISTRY
)
RELAY_RECONNECTS = Counter("ttsign_relay_upstream_reconnects", "Room sockets reopened after a close", registry=REGISTRY)
RELAY_DROPPED = Counter(
    "ttsign_relay_dropped_events",
    "Events a slow subscriber's full queue refused (it is then cut off)",
    registry=REGISTRY,
)


class RelayMetrics:
    """The relay hub's reports, as metrics (`ttsign.relay.hub.RelayObserver`)."""

    def rooms(self, n: int) -> None:
        RELAY_ROOMS.set(n)

    def subscribers(self, n: int) -> None:
        RELAY_SUBSCRIBERS.set(n)

    def event_in(self, kind: str) -> None:
        RELAY_EVENTS_IN.labels(kind).inc()

    def events_out(self, kind: str, n: int) -> None:
        RELAY_EVENTS_OUT.labels(kind).inc(n)

    def reconnect(self) -> None:
        RELAY_RECONNECTS.inc()

    def dropped(self, n: int) -> None:
        RELAY_DROPPED.inc(n)
