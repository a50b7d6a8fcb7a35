"""One structured log line and the metrics for every request, and the answer of last resort.

The line: request id, method, route template, status, latency, caller; for every non-2xx answer also the
error kind and the (redacted) message, read from the JSON error body that was sent, and the path and query.
A client that went away before its answer (a disconnect while its body was read, or a send to a closed
socket) is logged as 499 at info, not as an error. The request's own secrets (API key, cookie values,
secret-named query and header values) are registered for redaction for every line logged while it is
handled (`ttsign.server.logs`). Metrics are labelled by route template, never the raw path, so their
series stay bounded. An exception that escapes everything inside becomes a JSON 500 and an
`unhandled_error` line (redacted), never a bare traceback page: this is the outermost place that knows
what the client was sent, so the line always says what the client got.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from prometheus_client.metrics import Counter, Histogram
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ttsign.server import logs, metrics
from ttsign.server.errors import ApiError
from ttsign.server.pipeline.asgi import request_headers, send_error

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
_MAX_SERIES = 4096  # cached metric children; the labels are bounded, this bounds the cache regardless


@lru_cache(maxsize=1024)
def _secret_header(name: str) -> bool:
    return name in SECRET_HEADERS or logs.is_secret_name(name)


@lru_cache(maxsize=1024)
def _secret_param(name: str) -> bool:
    return logs.is_secret_name(name.replace("%5F", "_").replace("%5f", "_"))


def request_secrets(scope: Scope, headers: dict[str, str]) -> list[str]:
    """The secret values a request carries (key, cookies, secret-named query and header values)."""
    found: list[str] = []
    for name, value in headers.items():
        if _secret_header(name):
            found.append(value.strip())
            if name == "authorization" or name == "proxy-authorization":
                found.append(value.partition(" ")[2].strip())
            if "cookie" in name:
                found += [pair.partition("=")[2].strip() for pair in value.split(";")]
    query = scope.get("query_string", b"")
    if query:
        for pair in query.decode("latin-1").split("&")[:256]:
            name, _, value = pair.partition("=")
            if value and _secret_param(name):
                found.append(value)
                if "%" in value or "+" in value:
                    found.append(unquote_plus(value))
    return found


class _Outcome:
    """What happened to one request, filled in as it goes (for the log line and the metrics)."""

    __slots__ = ("disconnected", "error_body", "kind", "started", "status")

    def __init__(self) -> None:
        self.status = 0
        self.started = False
        self.disconnected = False  # the client went away before its answer started
        self.kind = ""
        self.error_body: bytes | None = None


class AccessLog:
    def __init__(self, app: ASGIApp, *, logger: Any, routes: list[BaseRoute] | None = None) -> None:
        self.app = app
        self.log = logger
        self.routes = routes if routes is not None else []
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        secrets_token = logs.begin_request(request_secrets(scope, request_headers(scope)))
        out = _Outcome()

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                out.status, out.started = message["status"], True
            elif message["type"] == "http.response.body" and out.status >= 300 and out.error_body is None:
                out.error_body = bytes(message.get("body", b""))[:4096]
            try:
                await send(message)
            except OSError:  # the socket is gone (uvicorn's ClientDisconnected is an OSError): no answer arrived
                out.disconnected, out.kind = True, "client_disconnected"
                raise

        async def receive_observed() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" and not out.started:
                out.disconnected, out.kind = True, "client_disconnected"
            return message

        try:
            await self.app(scope, receive_observed, send_observed)
        except ApiError as err:  # raised outside a route (its handler renders the ones inside)
            if not out.started:
                await send_error(send_observed, err)
        except ClientDisconnect:
            out.disconnected, out.kind = True, "client_disconnected"
        except Exception as exc:  # last line of defence: log it (redacted), answer JSON 500
            if not out.disconnected:
                self.log.error(
                    "unhandled_error",
                    request_id=scope.get("state", {}).get("request_id", ""),
                    method=scope["method"],
                    path=scope["path"],
                    query=scope.get("query_string", b"").decode("latin-1")[:1000],
                    error=repr(exc)[:1000],
                )
                out.kind = "internal"
                if not out.started:
                    await send_error(send_observed, ApiError(500, "internal error; see server log for the request id"))
        finally:
            try:
                self._finish(scope, out, time.perf_counter() - start)
            finally:
                logs.end_request(secrets_token)

    def _finish(self, scope: Scope, out: _Outcome, elapsed: float) -> None:
        route = self._template(scope)
        status = CLIENT_CLOSED if out.disconnected else (out.status or 500)
        method = scope["method"]
        count, latency = self._metrics(route, method if method in METHODS else "OTHER", status)
        count.inc()
        latency.observe(elapsed)
        state = scope.get("state", {})
        fields: dict[str, Any] = {
            "request_id": state.get("request_id", ""),
            "method": method[:16],
            "route": route,
            "status": status,
            "latency_ms": round(elapsed * 1000, 3),
            "caller": state.get("caller", "anonymous"),
        }
        if not 200 <= status < 300:
            kind, message, limit_label = self._error_of(out, status)
            if status == 429 and limit_label:
                metrics.RATE_LIMITED.labels(route, limit_label).inc()
            fields.update(
                error_kind=kind,
                error=message,
                path=scope["path"][:300],
                query=scope.get("query_string", b"").decode("latin-1")[:500],
            )
        log = self.log.warning if status >= 500 else self.log.info
        log("request", **fields)

    def _metrics(self, route: str, method: str, status: int) -> tuple[Counter, Histogram]:
        """The request counter and latency histogram children for these labels (looked up once)."""
        key = (route, method, status)
        series = self._series.get(key)
        if series is None:
            series = (metrics.REQUESTS.labels(route, method, str(status)), metrics.LATENCY.labels(route))
            if len(self._series) < _MAX_SERIES:
                self._series[key] = series
        return series

    @staticmethod
    def _error_of(out: _Outcome, status: int) -> tuple[str, str, str]:
        """Kind, message and limit label for the log: from the JSON error body we sent, else from the status."""
        kind, message, limit_label = out.kind, "", ""
        if status == CLIENT_CLOSED:
            return kind or "client_disconnected", "the client closed the connection before the answer", ""
        if out.error_body and out.error_body[:1] == b"{":
            try:
                body = json.loads(out.error_body)
            except ValueError:
                body = None
            if isinstance(body, dict):
                message = str(body.get("message", ""))[:500]
                limit_label = str(body.get("limit_label") or "")[:64]
                kind = kind or str(body.get("reason") or limit_label)
        return kind or ERROR_KINDS.get(status, f"http_{status}"), message, limit_label

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
