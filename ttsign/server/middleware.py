"""One pure-ASGI middleware for everything that wraps a request.

In order: request id (echo the caller's `X-Request-Id` when it is sane, else a new one), the request's
secrets registered for log redaction, request size limit (413 before the body is read), failed-auth
throttle (429), API-key auth (401 with `WWW-Authenticate`), rate limits (429 with the headers both client
libraries parse), then the app, whose body reads are bounded in size (413) and time (408: a client that
sends headers and a Content-Length, then stalls); afterwards metrics and one structured log line, which
for every non-2xx answer carries the error kind and the (redacted) message. A client that goes away
before its answer is logged as 499 at info, not as an error. An exception that escapes a route becomes a
JSON 500 and is logged (redacted), never a bare traceback page.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import anyio
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ttsign.server import logs, metrics
from ttsign.server.auth import WWW_AUTHENTICATE, check_key, extract_key, key_id
from ttsign.server.auth_throttle import AuthThrottle
from ttsign.server.errors import ApiError, error_body
from ttsign.server.limits import RateLimiter

_RID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_LENGTH = re.compile(r"[0-9]{1,18}")
PUBLIC_PATHS = frozenset(
    {"/", "/health", "/livez", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}
)
PUBLIC_PREFIX = "/docs/assets/"  # the docs pages' scripts and styles, served from the package
UNMETERED_PATHS = frozenset({"/webcast/rate_limits"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})
SECRET_HEADERS = ("x-api-key", "authorization", "proxy-authorization", "x-oauth-token", "cookie", "x-cookie-header")
CLIENT_CLOSED = 499  # nginx's "client closed request": logged, never sent
ERROR_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "body_timeout",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_field",
    429: "rate_limited",
    431: "headers_too_large",
    451: "region_blocked",
    CLIENT_CLOSED: "client_disconnected",
    500: "internal",
    502: "upstream",
    503: "unavailable",
    504: "upstream_timeout",
}


@dataclass
class _Outcome:
    """What happened to one request, filled in as it goes (for the log line and the metrics)."""

    status: int = 0
    started: bool = False
    disconnected: bool = False  # the client went away before its answer started
    kind: str = ""
    message: str = ""
    error_body: bytes | None = None


def request_secrets(scope: Scope, headers: dict[str, str]) -> list[str]:
    """The secret values a request carries (key, cookies, secret-named query and header values)."""
    found: list[str] = []
    for name, value in headers.items():
        if name in SECRET_HEADERS or logs.is_secret_name(name):
            found.append(value.strip())
            if name == "authorization" or name == "proxy-authorization":
                found.append(value.partition(" ")[2].strip())
            if "cookie" in name:
                found += [pair.partition("=")[2].strip() for pair in value.split(";")]
    query = scope.get("query_string", b"")
    if query:
        for pair in query.decode("latin-1").split("&")[:256]:
            name, _, value = pair.partition("=")
            if value and logs.is_secret_name(name.replace("%5F", "_").replace("%5f", "_")):
                found.append(value)
                if "%" in value or "+" in value:
                    found.append(unquote_plus(value))
    return found


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
        body_timeout_s: float = 15.0,
        auth_failures_per_minute: int = 10,
    ) -> None:
        self.app = app
        self.routes = routes if routes is not None else []
        self.api_keys = api_keys
        self.limiter = limiter
        self.max_request_bytes = max_request_bytes
        self.body_timeout_s = body_timeout_s
        self.auth_throttle = AuthThrottle(limiter.store, auth_failures_per_minute, limiter.clock)
        self.log = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id", "")
        if not _RID.fullmatch(rid):
            rid = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        out = _Outcome()
        rid_header = (b"x-request-id", rid.encode())
        secrets_token = logs.begin_request(request_secrets(scope, headers))

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                out.status, out.started = message["status"], True
                message["headers"] = [*message.get("headers", []), rid_header]
            elif message["type"] == "http.response.body" and out.status >= 300 and out.error_body is None:
                out.error_body = bytes(message.get("body", b""))[:4096]
            try:
                await send(message)
            except OSError:  # the socket is gone (uvicorn's ClientDisconnected is an OSError): no answer arrived
                out.disconnected, out.kind = True, "client_disconnected"
                raise

        path: str = scope["path"]
        caller = "anonymous"
        try:
            caller = self._admit(scope, headers, path, state)
            await self.app(scope, self._receive(receive, out), send_wrapped)
        except ApiError as err:
            if not out.started:
                await self._send_error(send_wrapped, err)
            if err.status == 429:
                label = str(err.extra.get("limit_label", ""))
                metrics.RATE_LIMITED.labels(self._template(scope), label).inc()
        except ClientDisconnect:
            out.disconnected, out.kind = True, "client_disconnected"
        except Exception as exc:  # last line of defence: log it (redacted), answer JSON 500
            if not out.disconnected:
                self.log.error(
                    "unhandled_error",
                    request_id=rid,
                    method=scope["method"],
                    path=path,
                    query=scope.get("query_string", b"").decode("latin-1")[:1000],
                    error=repr(exc)[:1000],
                )
                out.kind = "internal"
                if not out.started:
                    await self._send_error(
                        send_wrapped, ApiError(500, "internal error; see server log for the request id")
                    )
        finally:
            try:
                self._finish(scope, out, rid, caller, time.perf_counter() - start)
            finally:
                logs.end_request(secrets_token)

    def _finish(self, scope: Scope, out: _Outcome, rid: str, caller: str, elapsed: float) -> None:
        label = self._template(scope)
        status = CLIENT_CLOSED if out.disconnected else (out.status or 500)
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        metrics.REQUESTS.labels(label, method, str(status)).inc()
        metrics.LATENCY.labels(label).observe(elapsed)
        fields: dict[str, Any] = {
            "request_id": rid,
            "method": scope["method"][:16],
            "route": label,
            "status": status,
            "latency_ms": round(elapsed * 1000, 3),
            "caller": caller,
        }
        if not 200 <= status < 300:
            kind, message = self._error_of(out, status)
            fields.update(
                error_kind=kind,
                error=message,
                path=scope["path"][:300],
                query=scope.get("query_string", b"").decode("latin-1")[:500],
            )
        log = self.log.warning if status >= 500 else self.log.info
        log("request", **fields)

    @staticmethod
    def _error_of(out: _Outcome, status: int) -> tuple[str, str]:
        """The error kind and message for the log: from the JSON error body we sent, else from the status."""
        kind, message = out.kind, out.message
        if status == CLIENT_CLOSED:
            return kind or "client_disconnected", message or "the client closed the connection before the answer"
        if out.error_body and out.error_body[:1] == b"{":
            try:
                body = json.loads(out.error_body)
            except ValueError:
                body = None
            if isinstance(body, dict):
                message = message or str(body.get("message", ""))[:500]
                kind = kind or str(body.get("reason") or body.get("limit_label") or "")
        return kind or ERROR_KINDS.get(status, f"http_{status}"), message

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
        """Size, auth throttle, auth and rate limit; returns the caller id or raises ApiError."""
        length = headers.get("content-length")
        if length is not None:
            if not _LENGTH.fullmatch(length.strip()):
                raise ApiError(400, "Content-Length header is not a number")
            if int(length) > self.max_request_bytes:
                raise ApiError(413, f"request body is larger than {self.max_request_bytes} bytes")
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIX):
            return "public"
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if self.api_keys:
            self.auth_throttle.check(address)
            key = extract_key(headers)
            if not key:
                raise ApiError(401, "missing API key: send it in the X-Api-Key header", headers=WWW_AUTHENTICATE)
            if not check_key(key, self.api_keys):
                self.auth_throttle.failed(address)
                raise ApiError(401, "invalid API key (check TTSIGN_API_KEYS on the server)", headers=WWW_AUTHENTICATE)
            caller = key_id(key)
        else:
            caller = "ip:" + address
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

    def _receive(self, receive: Receive, out: _Outcome) -> Receive:
        """`receive`, with the body bounded in size (413) and in time (408) until it is complete."""
        limit, timeout = self.max_request_bytes, self.body_timeout_s
        seen, complete, deadline = 0, False, 0.0

        async def wrapped() -> Message:
            nonlocal seen, complete, deadline
            if complete:  # the body is in: later calls only listen for a disconnect, unbounded
                message = await receive()
            else:
                now = anyio.current_time()
                deadline = deadline or now + timeout
                try:
                    with anyio.fail_after(max(0.0, deadline - now)):
                        message = await receive()
                except TimeoutError:
                    out.kind = "body_timeout"
                    raise ApiError(
                        408,
                        f"request body not received within {timeout:g} s; closing the connection",
                        headers={"Connection": "close"},
                    ) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiError(413, f"request body is larger than {limit} bytes", headers={"Connection": "close"})
                complete = not message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                complete = True
                if not out.started:
                    out.disconnected, out.kind = True, "client_disconnected"
            return message

        return wrapped

    @staticmethod
    async def _send_error(send: Send, err: ApiError) -> None:
        body = error_body(err.body_code, err.message, **err.extra)
        hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        hdrs += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in err.headers.items()]
        await send({"type": "http.response.start", "status": err.status, "headers": hdrs})
        await send({"type": "http.response.body", "body": body})
