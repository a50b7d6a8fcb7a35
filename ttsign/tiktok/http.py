"""Outbound HTTP to TikTok: curl_cffi impersonating a current Chrome (TLS + HTTP/2 fingerprint).

Plain HTTP clients get empty 200s and WAF challenges from TikTok (tokens.md §3); Chrome impersonation
is what the 2026 pure-Python setups that worked used. Every base URL is a setting, so tests point all
of this at the offline fake on 127.0.0.1.

The upstream is not trusted either: redirects are followed here, not by curl, at most `max_redirects`
hops and only to the configured TikTok hosts (`redirect_hosts`); every answer's decoded body is capped
at `max_bytes` while it arrives (a gzip bomb is aborted after a few MiB, not inflated); a request's
hops share one deadline of `timeout_s`; and error messages name the upstream ("TikTok webcast"), never
its address or what it sent.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

from ada_url import URL
from curl_cffi import requests as cffi
from curl_cffi.curl import CURL_WRITEFUNC_ERROR, CurlError
from curl_cffi.requests.exceptions import DNSError, IncompleteRead, SSLError, Timeout

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


class Upstream:
    """A shared async session; one per server process.

    `redirect_hosts` (see `redirect_hosts()`) is where redirects may lead; when None, only to the
    host and port of the request itself. `names` maps base URLs to what error messages call them
    (longest prefix wins; "TikTok" otherwise).
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
    ) -> None:
        self._timeout = timeout_s
        self._proxy = proxy or None
        self._impersonate = impersonate
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.redirect_hosts = frozenset(redirect_hosts) if redirect_hosts is not None else None
        self._names = sorted((names or {}).items(), key=lambda kv: -len(kv[0]))
        self._session: cffi.AsyncSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstream:
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
        )

    def _s(self) -> cffi.AsyncSession:
        if self._session is None:
            self._session = cffi.AsyncSession(
                impersonate=self._impersonate,  # type: ignore[arg-type]
                proxy=self._proxy,
                timeout=self._timeout,
                allow_redirects=False,  # followed by `request`, within `redirect_hosts`
                discard_cookies=True,  # no shared jar: each identity sends only its own cookies
            )
        return self._session

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
        """One answer, redirects followed; every hop shares one deadline (`timeout_s`, default the session's)."""
        name = self.name_of(url)
        hdrs = dict(headers or {})
        if cookies:
            hdrs["Cookie"] = cookie_header(cookies)
        total = self._timeout if timeout_s is None else timeout_s
        deadline = time.monotonic() + total
        set_cookies: dict[str, str] = {}
        seen: set[tuple[str, str]] = set()
        hops = 0
        while True:
            r, body = await self._hop(name, method, url, (deadline, total), params, hdrs, data, json_body)
            origin = r.url or url
            seen.add((method, _href(origin)))
            raw_cookies = r.headers.get_list("set-cookie") if hasattr(r.headers, "get_list") else []
            set_cookies.update(parse_set_cookies(list(raw_cookies)))
            location = r.headers.get("location")
            if r.status_code not in REDIRECT_STATUSES or not location:
                headers_out = {k.lower(): v for k, v in r.headers.items()}
                return UpstreamResponse(r.status_code, headers_out, set_cookies, body)
            hops += 1
            if hops > self.max_redirects:
                raise UpstreamError("redirect", f"{name} redirected more than {self.max_redirects} times")
            target = redirect_target(location, origin, self.redirect_hosts)
            if target is None:
                raise UpstreamError("redirect", f"{name} redirected outside TikTok's hosts (refused)")
            if r.status_code in (301, 302, 303) and method != "HEAD":
                if method != "GET":
                    hdrs = {k: v for k, v in hdrs.items() if k.lower() != "content-type"}
                method, data, json_body = "GET", None, None
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
        data: bytes | str | None,
        json_body: Any,
    ) -> tuple[Any, bytes]:
        """One HTTP exchange, its decoded body collected up to `max_bytes` (aborted past it)."""
        deadline, total = limit
        budget = deadline - time.monotonic()
        if budget < 0.001:
            raise UpstreamError("timeout", f"{name} timed out after {total:g} s")
        body = bytearray()
        over = False

        def collect(chunk: bytes) -> int:
            nonlocal over
            if len(body) + len(chunk) > self.max_bytes:
                over = True
                return CURL_WRITEFUNC_ERROR  # curl stops reading and inflating right here
            body.extend(chunk)
            return len(chunk)

        try:
            r = await self._s().request(
                method,  # type: ignore[arg-type]
                url,
                params=dict(params) if params else None,
                headers=headers,
                data=data,
                json=json_body,
                timeout=max(budget, 0.001),
                content_callback=collect,
            )
        except CurlError as exc:
            if over:
                raise UpstreamError("too_large", f"{name} answered more than {self.max_bytes} bytes") from None
            if isinstance(exc, Timeout):
                raise UpstreamError("timeout", f"{name} timed out after {total:g} s") from None
            raise UpstreamError("unreachable", f"{name} unreachable ({_reason(exc)})") from None
        return r, bytes(body)

    async def get(self, url: str, **kw: Any) -> UpstreamResponse:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> UpstreamResponse:
        return await self.request("POST", url, **kw)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


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
