"""One pure-ASGI middleware for everything that wraps a request.

In order: request id (echo the caller's `X-Request-Id` when it is sane, else a new one), request size
limit (413 before the body is read), API-key auth (401), rate limits (429 with the headers both client
libraries parse), then the app; afterwards metrics and one structured log line. An exception that
escapes a route becomes a JSON 500 and is logged, never a bare traceback page.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ttsign.server import metrics
from ttsign.server.auth import check_key, extract_key, key_id
from ttsign.server.errors import ApiError, error_body
from ttsign.server.limits import RateLimiter

_RID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
PUBLIC_PATHS = frozenset({"/health", "/metrics", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"})
UNMETERED_PATHS = frozenset({"/webcast/rate_limits"})


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: frozenset[str],
        limiter: RateLimiter,
        max_request_bytes: int,
        logger: Any,
        routes: list[BaseRoute] | None = None,
    ) -> None:
        self.app = app
        self.routes = routes if routes is not None else []
        self.api_keys = api_keys
        self.limiter = limiter
        self.max_request_bytes = max_request_bytes
        self.log = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id", "")
        if not _RID.match(rid):
            rid = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        status_box = [0]
        rid_header = (b"x-request-id", rid.encode())

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        path: str = scope["path"]
        caller = "anonymous"
        try:
            caller = self._admit(scope, headers, path, state)
            await self.app(scope, self._limited(receive), send_wrapped)
        except ApiError as err:
            if status_box[0] == 0:
                await self._send_error(send_wrapped, err)
            if err.status == 429:
                metrics.RATE_LIMITED.labels(self._template(scope), str(err.extra.get("limit_label", ""))).inc()
        except Exception as exc:  # last line of defence: log it, answer JSON 500
            self.log.error("unhandled_error", request_id=rid, path=path, error=repr(exc)[:500])
            if status_box[0] == 0:
                await self._send_error(send_wrapped, ApiError(500, "internal error; see server log for the request id"))
        finally:
            label = self._template(scope)
            elapsed = time.perf_counter() - start
            status = status_box[0] or 500
            metrics.REQUESTS.labels(label, scope["method"], str(status)).inc()
            metrics.LATENCY.labels(label).observe(elapsed)
            self.log.info(
                "request",
                request_id=rid,
                method=scope["method"],
                route=label,
                status=status,
                latency_ms=round(elapsed * 1000, 3),
                caller=caller,
            )

    def _template(self, scope: Scope) -> str:
        """The route template (`/v1/rooms/{unique_id}`), never the raw path: metric labels stay bounded."""
        route = scope.get("route")
        if route is not None and getattr(route, "path", None):
            return str(route.path)
        for candidate in self.routes:  # refused before routing (401, 413, 429): find the template
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                return str(getattr(candidate, "path", "unmatched"))
        return "unmatched"

    def _admit(self, scope: Scope, headers: dict[str, str], path: str, state: dict[str, Any]) -> str:
        """Size, auth and rate limit; returns the caller id or raises ApiError."""
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise ApiError(400, "Content-Length header is not a number")
            if int(length) > self.max_request_bytes:
                raise ApiError(413, f"request body is larger than {self.max_request_bytes} bytes")
        if path in PUBLIC_PATHS:
            return "public"
        client = scope.get("client")
        if self.api_keys:
            key = extract_key(headers)
            if not key:
                raise ApiError(401, "missing API key: send it in the X-Api-Key header")
            if not check_key(key, self.api_keys):
                raise ApiError(401, "invalid API key (check TTSIGN_API_KEYS on the server)")
            caller = key_id(key)
        else:
            caller = "ip:" + (client[0] if client else "unknown")
        state["caller"] = caller
        if path not in UNMETERED_PATHS:
            decision = self.limiter.hit(caller)
            if not decision.allowed and decision.blocked_by is not None:
                label = decision.blocked_by.label
                raise ApiError(
                    429,
                    f"Too many requests: the {label.replace('rate_limit_', 'per-')} limit of "
                    f"{decision.blocked_by.limit} is used up for this caller",
                    headers=decision.headers_429(self.limiter.clock()),
                    extra={"limit_label": label},
                )
        return caller

    def _limited(self, receive: Receive) -> Receive:
        seen = [0]
        limit = self.max_request_bytes

        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > limit:
                    raise ApiError(413, f"request body is larger than {limit} bytes")
            return message

        return wrapped

    @staticmethod
    async def _send_error(send: Send, err: ApiError) -> None:
        body = error_body(err.body_code, err.message, **err.extra)
        hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        hdrs += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
        await send({"type": "http.response.start", "status": err.status, "headers": hdrs})
        await send({"type": "http.response.body", "body": body})
