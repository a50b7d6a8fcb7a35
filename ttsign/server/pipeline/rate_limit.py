"""Rate limits per caller (a key id, or the address in open mode): one token from each of its minute,
hour and day windows, or a 429 with `Retry-After`, `RateLimit-*` and `X-RateLimit-Reset` (the headers both
client libraries parse) and `limit_label` in the body. Paths in `unmetered` are never counted: the public
ones, `/webcast/rate_limits` (reading your limits does not use them up) and, in open mode unless
`TTSIGN_OPEN_RATE_LIMIT` is on, the signing routes (see `ttsign.server.middleware`). The check is awaited:
with a Redis store it is one bounded round trip, and while Redis fails a local share of the limit answers
(`ttsign.store.fallback`), never an error.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ttsign.server.errors import ApiError
from ttsign.server.limits import RateLimiter
from ttsign.server.pipeline.asgi import PathSet, client_address, send_error


class RateLimit:
    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, unmetered: PathSet) -> None:
        self.app = app
        self.limiter = limiter
        self.unmetered = unmetered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.unmetered:
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        caller = state.get("caller") or "ip:" + client_address(scope)
        decision = await self.limiter.hit_async(caller)
        if not decision.allowed and decision.blocked_by is not None:
            label, limit = decision.blocked_by.label, decision.blocked_by.limit
            err = ApiError(
                429,
                f"Too many requests: the {label.replace('rate_limit_', 'per-')} limit of {limit} "
                "is used up for this caller",
                headers=decision.headers_429(self.limiter.clock()),
                extra={"limit_label": label},
            )
            return await send_error(send, err)
        await self.app(scope, receive, send)
