"""How an upstream failure reads to a caller: one kind, a message without addresses, TikTok's own wait.

Kinds, and the status the routes give them:

* `timeout`: TikTok did not answer in time (504).
* `rate_limited`: TikTok answered 429; `retry_after_s` is its `Retry-After` when it sent one (503).
* `unreachable`: no connection, a reset, a bad redirect, a body too big, a 5xx (502).

Messages name TikTok and the endpoint ("TikTok im/fetch"), never a host, port or curl's text: an upstream
base may be an internal address (a proxy, a test fake) that callers must not learn.
"""

from __future__ import annotations

import math

from ttsign.tiktok.http import MAX_RETRY_AFTER_S, UpstreamError, UpstreamResponse

TIMEOUT, RATE_LIMITED, UNREACHABLE = "timeout", "rate_limited", "unreachable"


def kind_of(exc: UpstreamError) -> str:
    if exc.kind == "timeout":
        return TIMEOUT
    if exc.status == 429:
        return RATE_LIMITED
    return UNREACHABLE


def describe(exc: UpstreamError, what: str) -> str:
    """`what` is the endpoint's name ("im/fetch"); the result never quotes the upstream's own text."""
    kind = kind_of(exc)
    if kind == TIMEOUT:
        return f"TikTok {what} did not answer in time"
    if kind == RATE_LIMITED:
        return f"TikTok {what} is rate limiting us (HTTP 429)"
    if exc.kind == "status" and exc.status:
        return f"TikTok {what} answered HTTP {exc.status}"
    return f"TikTok {what} {_WHAT_WENT_WRONG.get(exc.kind, 'gave an unusable answer')}"


_WHAT_WENT_WRONG = {
    "unreachable": "could not be reached",
    "redirect": "redirected too often or away from TikTok (not followed)",
    "too_large": "answered more than the upstream size cap",
}


def retry_after_of(source: UpstreamError | UpstreamResponse) -> float | None:
    """TikTok's wait (its `Retry-After`, parsed by the HTTP layer) from an error or a response; None if it sent none."""
    wait = source.retry_after_s
    return None if wait is None else min(max(float(wait), 0.0), MAX_RETRY_AFTER_S)


def retry_after_header(wait_s: float | None, *, floor_s: float = 1.0) -> str:
    """A `Retry-After` value in whole seconds, at least `floor_s` (1 by default)."""
    wait = 0.0 if wait_s is None or math.isnan(wait_s) else wait_s
    return str(max(math.ceil(floor_s), math.ceil(min(wait, MAX_RETRY_AFTER_S))))
