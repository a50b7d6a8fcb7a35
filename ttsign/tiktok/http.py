"""Outbound HTTP to TikTok: curl_cffi impersonating a current Chrome (TLS + HTTP/2 fingerprint).

Plain HTTP clients get empty 200s and WAF challenges from TikTok (tokens.md §3); Chrome impersonation
is what the 2026 pure-Python setups that worked used. Every base URL is a setting, so tests point all
of this at the offline fake on 127.0.0.1.

The upstream is not trusted either: redirects are followed here, not by curl, at most `max_redirects`
hops and only to the configured TikTok hosts (`redirect_hosts`); every answer's decoded body is capped
at `max_bytes` while it arrives (a gzip bomb is aborted after a few MiB, not inflated); a request's
hops share one deadline of `timeout_s`; and error messages name the upstream ("TikTok webcast"), never
its address or what it sent.

The wire itself is a seam: `Upstream` sends each hop through a `Transport` (`CurlTransport`, curl_cffi
impersonating Chrome, unless another is passed), so tests inject a fake transport instead of subclassing.
Every call's outcome is recorded (`Upstream.observed`, read by `/health`), counted and timed in the
Prometheus metrics, and logged at debug (upstream name, method, path without its query, status or error
kind, milliseconds): never a cookie, msToken or query value.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from ada_url import URL
from curl_cffi import requests as cffi
from curl_cffi.curl import CURL_WRITEFUNC_ERROR, CurlError
from curl_cffi.requests.exceptions import DNSError, IncompleteRead, SSLError, Timeout

from ttsign.server import logs, metrics

if TYPE_CHECKING:
    from ttsign.config import Settings

IMPERSONATE = "chrome"  # curl_cffi's newest Chrome profile
MAX_BYTES = 4 * 1024 * 1024
MAX_REDIRECTS = 3
MAX_RETRY_AFTER_S = 3600.0  # an upstream asking for longer is capped (a hostile one could say 10**12)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
CURL_REASONS = {
    1: "not an HTTP answer",  # curl refuses HTTP/0.9, which is what bytes without a status line are
    6: "name not resolved",
    7: "connection refused",
    8: "malformed HTTP answer",
    18: "answer cut short",
    35: "TLS handshake failed",
    52: "empty reply",
    55: "send failed",
    56: "connection reset",
    61: "undecodable content encoding",
    16: "HTTP/2 error",
    92: "HTTP/2 stream error",
}


class UpstreamError(Exception):
    """TikTok (or the network to it) failed.

    `kind`: 'unreachable' (connection, TLS or protocol failure), 'timeout', 'status' (see
    `UpstreamResponse.error`), 'redirect' (to a foreign host, a loop, too many hops) or 'too_large'
    (a decoded body over the cap). The message names the upstream, never its address or its body.
    `retry_after_s` is the upstream's own `Retry-After` (seconds) when it sent one, so routes can pass
    TikTok's wait through to the caller.
    """

    def __init__(self, kind: str, message: str, status: int = 0, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delay-seconds or an HTTP-date); None if absent or invalid.

    A date in the past is 0; anything over `MAX_RETRY_AFTER_S` is capped to it.
    """
    if not value or not (value := value.strip()):
        return None
    if value.isascii() and value.isdigit():
        return min(float(int(value[:12])), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; an asctime date parses naive
        return None
    wait = when.timestamp() - (time.time() if now is None else now)
    return min(max(0.0, wait), MAX_RETRY_AFTER_S)


@dataclass
class UpstreamResponse:
    status: int
    headers: dict[str, str]
    set_cookies: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def retry_after_s(self) -> float | None:
        """The upstream's `Retry-After` in seconds (sent with 429 and 503), or None."""
        return parse_retry_after(self.headers.get("retry-after"))

    def error(self, what: str = "TikTok") -> UpstreamError:
        """An `UpstreamError('status')` for this answer, carrying its `Retry-After` (nothing of the body)."""
        return UpstreamError(
            "status", f"{what} answered HTTP {self.status}", self.status, retry_after_s=self.retry_after_s
        )


def parse_set_cookies(values: list[str]) -> dict[str, str]:
    """name -> value for every Set-Cookie header (values kept as sent, still URL-encoded)."""
    out: dict[str, str] = {}
    for raw in values:
        first = raw.split(";", 1)[0]
        if "=" not in first:
            continue
        name, value = first.split("=", 1)
        name = name.strip()
        if name:
            out[name] = value.strip().strip('"')
    return out


def cookie_header(cookies: Mapping[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def simple_cookie_safe(value: str) -> bool:
    """True when http.cookies.SimpleCookie (TikTokLive's parser) keeps the value intact."""
    c: SimpleCookie = SimpleCookie()
    try:
        c.load(f"x={value}")
    except Exception:
        return False
    return "x" in c and c["x"].value == value


# ---- where a redirect may go --------------------------------------------------------------------


def _parse(url: str) -> URL | None:
    try:
        return URL(url)
    except ValueError:
        return None


def _port(u: URL) -> int:
    scheme = u.protocol.rstrip(":")
    return int(u.port) if u.port else DEFAULT_PORTS.get(scheme, 0)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "." not in host  # a single label (localhost, a container name) is as exact as an address
    return True


def redirect_hosts(*base_urls: str) -> frozenset[str]:
    """The hosts redirects may go to, from the configured TikTok bases (WHATWG-parsed).

    A base on a named host at its default port allows its domain (the last two labels) and every
    subdomain, at default ports: `https://www.tiktok.com` gives `.tiktok.com`. A base on an address,
    a single-label name or an explicit port allows exactly that `host:port` (the fake in tests).
    """
    out: set[str] = set()
    for base in base_urls:
        u = _parse(base)
        if u is None or not u.hostname:
            continue
        host = u.hostname.lower()
        scheme = u.protocol.rstrip(":")
        if _is_literal(host) or (u.port and int(u.port) != DEFAULT_PORTS.get(scheme)):
            out.add(f"{host}:{_port(u)}")
        else:
            out.add("." + ".".join(host.rstrip(".").split(".")[-2:]))
    return frozenset(out)


def host_allowed(allowed: Iterable[str], host: str, port: int) -> bool:
    """Whether `host:port` is in `allowed` (as made by `redirect_hosts`)."""
    host = host.lower()
    for entry in allowed:
        if entry.startswith("."):
            if port in (80, 443) and (host == entry[1:] or host.endswith(entry)):
                return True
        elif entry == f"{host}:{port}":
            return True
    return False


def redirect_target(location: str, origin: str, allowed: Iterable[str] | None) -> str | None:
    """The URL a redirect from `origin` to `location` leads to (WHATWG-resolved, no fragment), or None if refused.

    Refused: an unparseable target, userinfo, a scheme other than http(s), https -> http, and any host
    not in `allowed` (None: only the origin's own host and port).
    """
    base = _parse(origin)
    if base is None:
        return None
    try:
        target = URL(location, base=base.href)
    except ValueError:
        return None
    scheme = target.protocol.rstrip(":")
    if target.username or target.password or not target.hostname or scheme not in ("http", "https"):
        return None
    if scheme == "http" and base.protocol == "https:":
        return None
    if allowed is None:
        allowed = {f"{base.hostname.lower()}:{_port(base)}"}
    if not host_allowed(allowed, target.hostname, _port(target)):
        return None
    target.hash = ""
    return target.href


def _host(url: str) -> str:
    u = _parse(url)
    return u.host.lower() if u is not None else ""


def _href(url: str) -> str:
    u = _parse(url)
    return u.href if u is not None else url


# ---- the wire: a transport sends one hop -------------------------------------------------------


class TransportError(Exception):
    """One hop failed below HTTP. `kind`: 'unreachable', 'timeout' or 'too_large'; `reason` is a short
    cause ("connection refused") with nothing of the address or of what the upstream sent."""

    def __init__(self, kind: str, reason: str = "") -> None:
        super().__init__(reason or kind)
        self.kind = kind
        self.reason = reason


@dataclass
class TransportResponse:
    """One hop's answer: `headers` lower-cased (repeated ones joined by ", "), `set_cookies` the raw
    `Set-Cookie` values, `body` decoded (at most the request's `max_bytes`), `url` the URL as sent."""

    status: int
    headers: dict[str, str]
    set_cookies: list[str] = field(default_factory=list)
    body: bytes = b""
    url: str = ""


class Transport(Protocol):
    """Sends one HTTP exchange, no redirects followed (`Upstream` follows them, within its policy).

    `params` are added to `url`'s query; `body` is sent as is (with the headers given). The transport
    stops reading past `max_bytes` of decoded body (`TransportError('too_large')`) and after `timeout_s`
    (`TransportError('timeout')`); any other failure is `TransportError('unreachable', reason)`.
    """

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout_s: float,
        max_bytes: int,
    ) -> TransportResponse: ...

    async def close(self) -> None: ...


class CurlTransport:
    """The default transport: one curl_cffi session impersonating Chrome (TLS and HTTP/2 fingerprint)."""

    def __init__(self, *, proxy: str = "", timeout_s: float = 10.0, impersonate: str = IMPERSONATE) -> None:
        self._proxy = proxy or None
        self._timeout = timeout_s
        self._impersonate = impersonate
        self._session: cffi.AsyncSession | None = None

    def _s(self) -> cffi.AsyncSession:
        if self._session is None:
            self._session = cffi.AsyncSession(
                impersonate=self._impersonate,  # type: ignore[arg-type]
                proxy=self._proxy,
                timeout=self._timeout,
                allow_redirects=False,  # followed by `Upstream.request`, within its redirect hosts
                discard_cookies=True,  # no shared jar: each identity sends only its own cookies
            )
        return self._session

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout_s: float,
        max_bytes: int,
    ) -> TransportResponse:
        collected = bytearray()
        over = False

        def collect(chunk: bytes) -> int:
            nonlocal over
            if len(collected) + len(chunk) > max_bytes:
                over = True
                return CURL_WRITEFUNC_ERROR  # curl stops reading and inflating right here
            collected.extend(chunk)
            return len(chunk)

        try:
            r = await self._s().request(
                method,  # type: ignore[arg-type]
                url,
                params=dict(params) if params else None,
                headers=dict(headers),
                data=body,
                timeout=max(timeout_s, 0.001),
                content_callback=collect,
            )
        except CurlError as exc:
            if over:
                raise TransportError("too_large") from None
            if isinstance(exc, Timeout):  # curl_cffi's exception type, never the message text
                raise TransportError("timeout") from None
            raise TransportError("unreachable", _reason(exc)) from None
        raw_cookies = r.headers.get_list("set-cookie") if hasattr(r.headers, "get_list") else []
        return TransportResponse(
            r.status_code,
            {k.lower(): v for k, v in r.headers.items()},
            list(raw_cookies or []),
            bytes(collected),
            r.url or url,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# ---- what was observed of each upstream --------------------------------------------------------

CIRCUIT_OPEN_AFTER = 3
"""Consecutive failures after which an upstream's circuit reads `open` (reported, calls still tried)."""


@dataclass
class Observation:
    """What one upstream base did lately: the last call's outcome and time, the last error, the run of
    consecutive failures. A failure is no usable answer (timeout, unreachable, redirect refused, too large)
    or a 429 / 5xx; any other answer is a success. Times are unix seconds."""

    calls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_outcome: str = ""  # 'ok', or the failure kind (timeout, unreachable, redirect, too_large, http_503, ...)
    last_status: int = 0
    last_at: float = 0.0
    last_ms: float = 0.0
    last_ok_at: float = 0.0
    last_error: str = ""
    last_error_at: float = 0.0

    @property
    def circuit(self) -> str:
        return "open" if self.consecutive_failures >= CIRCUIT_OPEN_AFTER else "closed"

    def record(self, outcome: str, status: int, ms: float, at: float) -> None:
        self.calls += 1
        self.last_outcome, self.last_status, self.last_at, self.last_ms = outcome, status, at, ms
        if outcome == "ok":
            self.consecutive_failures = 0
            self.last_ok_at = at
        else:
            self.failures += 1
            self.consecutive_failures += 1
            self.last_error, self.last_error_at = outcome, at


def _failure_of(status: int) -> str:
    """'ok' for a usable answer, else the failure kind of an HTTP status (429 and 5xx)."""
    if status == 429:
        return "rate_limited"
    return f"http_{status}" if status >= 500 else "ok"


def _label(name: str) -> str:
    """The metric/health label of an upstream name: "TikTok webcast socket" -> "webcast_socket"."""
    short = name.removeprefix("TikTok").strip().replace(" ", "_")
    return short or "other"


def _path(url: str) -> str:
    """The path of `url` without its query: what a log line may show."""
    u = _parse(url)
    return u.pathname if u is not None else "?"


class Upstream:
    """A shared async client; one per server process.

    `redirect_hosts` (see `redirect_hosts()`) is where redirects may lead; when None, only to the
    host and port of the request itself. `names` maps base URLs to what error messages call them
    (longest prefix wins; "TikTok" otherwise). `transport` sends each hop (default: a `CurlTransport`
    with `proxy`, `timeout_s` and `impersonate`); `clock` stamps observations (unix seconds).
    """

    def __init__(
        self,
        *,
        proxy: str = "",
        timeout_s: float = 10.0,
        impersonate: str = IMPERSONATE,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        redirect_hosts: Iterable[str] | None = None,
        names: Mapping[str, str] | None = None,
        transport: Transport | None = None,
        clock: Any = time.time,
    ) -> None:
        self._timeout = timeout_s
        self.transport: Transport = transport or CurlTransport(
            proxy=proxy, timeout_s=timeout_s, impersonate=impersonate
        )
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.redirect_hosts = frozenset(redirect_hosts) if redirect_hosts is not None else None
        self._names = sorted((names or {}).items(), key=lambda kv: -len(kv[0]))
        self._clock = clock
        self.observed: dict[str, Observation] = {_label(name): Observation() for _, name in self._names}

    @classmethod
    def from_settings(cls, settings: Settings, *, transport: Transport | None = None) -> Upstream:
        """The upstream of a `ttsign.config.Settings`: its proxy, timeout, caps and TikTok bases."""
        bases = {
            settings.webcast_url: "TikTok webcast",
            settings.ttwid_url: "TikTok ttwid",
            settings.tiktok_www: "TikTok www",
            settings.ws_url: "TikTok webcast socket",
        }
        return cls(
            proxy=settings.proxy,
            timeout_s=settings.upstream_timeout_s,
            max_bytes=settings.upstream_max_bytes,
            max_redirects=settings.upstream_max_redirects,
            redirect_hosts=redirect_hosts(*bases),
            names=bases,
            transport=transport,
        )

    def name_of(self, url: str) -> str:
        """What messages call the upstream of `url` ("TikTok webcast"), never its address."""
        return next((name for base, name in self._names if base and url.startswith(base)), "TikTok")

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        data: bytes | str | None = None,
        json_body: Any = None,
        timeout_s: float | None = None,
    ) -> UpstreamResponse:
        """One answer, redirects followed; every hop shares one deadline (`timeout_s`, default the session's).

        Its outcome is observed, counted, timed and logged at debug (see the module's docstring).
        """
        name = self.name_of(url)
        started = time.perf_counter()
        kind, status = "cancelled", 0  # kind: 'answered' or how it failed (the metric's outcome label)
        try:
            resp = await self._request(name, method, url, params, headers, cookies, data, json_body, timeout_s)
        except UpstreamError as exc:
            kind, status = exc.kind, exc.status
            raise
        else:
            kind, status = "answered", resp.status
            return resp
        finally:  # a CancelledError (the caller's own deadline) passes through as 'cancelled'
            self._observe(name, method, url, kind, status, time.perf_counter() - started)

    def _observe(self, name: str, method: str, url: str, kind: str, status: int, elapsed: float) -> None:
        label = _label(name)
        ms = round(elapsed * 1000, 1)
        metrics.UPSTREAM_REQUESTS.labels(label, kind, f"{status // 100}xx" if status else "none").inc()
        metrics.UPSTREAM_LATENCY.labels(label).observe(elapsed)
        outcome = _failure_of(status) if kind == "answered" else kind
        if kind != "cancelled":  # the caller giving up says nothing about TikTok
            self.observed.setdefault(label, Observation()).record(outcome, status, ms, self._clock())
        if structlog.is_configured():  # by `logs.configure` (a library user's stdout gets no debug lines)
            logs.get_logger("ttsign.upstream").debug(
                "upstream", upstream=label, method=method, path=_path(url), status=status, outcome=outcome, ms=ms
            )

    async def _request(
        self,
        name: str,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        cookies: Mapping[str, str] | None,
        data: bytes | str | None,
        json_body: Any,
        timeout_s: float | None,
    ) -> UpstreamResponse:
        hdrs = dict(headers or {})
        if cookies:
            hdrs["Cookie"] = cookie_header(cookies)
        body: bytes | None = data.encode("utf-8") if isinstance(data, str) else data
        if json_body is not None:  # as curl_cffi's json= does: compact JSON, its Content-Type unless given
            body = json.dumps(json_body, separators=(",", ":")).encode()
            if not any(k.lower() == "content-type" for k in hdrs):
                hdrs["Content-Type"] = "application/json"
        total = self._timeout if timeout_s is None else timeout_s
        deadline = time.monotonic() + total
        set_cookies: dict[str, str] = {}
        seen: set[tuple[str, str]] = set()
        hops = 0
        while True:
            r = await self._hop(name, method, url, (deadline, total), params, hdrs, body)
            origin = r.url or url
            seen.add((method, _href(origin)))
            set_cookies.update(parse_set_cookies(r.set_cookies))
            location = r.headers.get("location")
            if r.status not in REDIRECT_STATUSES or not location:
                return UpstreamResponse(r.status, r.headers, set_cookies, r.body)
            hops += 1
            if hops > self.max_redirects:
                raise UpstreamError("redirect", f"{name} redirected more than {self.max_redirects} times")
            target = redirect_target(location, origin, self.redirect_hosts)
            if target is None:
                raise UpstreamError("redirect", f"{name} redirected outside TikTok's hosts (refused)")
            if r.status in (301, 302, 303) and method != "HEAD":
                if method != "GET":
                    hdrs = {k: v for k, v in hdrs.items() if k.lower() != "content-type"}
                method, body = "GET", None
            if _host(target) != _host(origin):
                hdrs = {k: v for k, v in hdrs.items() if k.lower() != "cookie"}  # as curl and browsers do
            if (method, target) in seen:
                raise UpstreamError("redirect", f"{name} answered a redirect loop")
            seen.add((method, target))
            url, params = target, None

    async def _hop(
        self,
        name: str,
        method: str,
        url: str,
        limit: tuple[float, float],
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        body: bytes | None,
    ) -> TransportResponse:
        """One HTTP exchange through the transport, within what is left of the deadline."""
        deadline, total = limit
        budget = deadline - time.monotonic()
        if budget < 0.001:
            raise UpstreamError("timeout", f"{name} timed out after {total:g} s")
        try:
            return await self.transport.send(
                method, url, params=params, headers=headers, body=body, timeout_s=budget, max_bytes=self.max_bytes
            )
        except TransportError as exc:
            if exc.kind == "too_large":
                raise UpstreamError("too_large", f"{name} answered more than {self.max_bytes} bytes") from None
            if exc.kind == "timeout":
                raise UpstreamError("timeout", f"{name} timed out after {total:g} s") from None
            raise UpstreamError("unreachable", f"{name} unreachable ({exc.reason or 'network error'})") from None

    async def get(self, url: str, **kw: Any) -> UpstreamResponse:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> UpstreamResponse:
        return await self.request("POST", url, **kw)

    async def close(self) -> None:
        await self.transport.close()


def _reason(exc: CurlError) -> str:
    """A short cause from curl's error code, with nothing of the address or the answer."""
    code = int(getattr(exc, "code", 0) or 0)
    if code in CURL_REASONS:
        return CURL_REASONS[code]
    if isinstance(exc, DNSError):
        return "name not resolved"
    if isinstance(exc, SSLError):
        return "TLS failure"
    if isinstance(exc, IncompleteRead):
        return "answer cut short"
    return f"network error {code}"
