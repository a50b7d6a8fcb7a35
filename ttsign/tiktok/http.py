"""Outbound HTTP to TikTok: curl_cffi impersonating a current Chrome (TLS + HTTP/2 fingerprint).

Plain HTTP clients get empty 200s and WAF challenges from TikTok (tokens.md §3); Chrome impersonation
is what the 2026 pure-Python setups that worked used. Every base URL is a setting, so tests point all
of this at the offline fake on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from curl_cffi import requests as cffi
from curl_cffi.requests.exceptions import RequestException

IMPERSONATE = "chrome"  # curl_cffi's newest Chrome profile


class UpstreamError(Exception):
    """TikTok (or the network to it) failed: `kind` is 'unreachable', 'timeout' or 'status'.

    `retry_after_s` is the upstream's own `Retry-After` (seconds) when it sent one, so routes can pass
    TikTok's wait through to the caller.
    """

    def __init__(self, kind: str, message: str, status: int = 0, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s


@dataclass
class UpstreamResponse:
    status: int
    headers: dict[str, str]
    set_cookies: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        import json

        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


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


class Upstream:
    """A shared async session; one per server process."""

    def __init__(self, *, proxy: str = "", timeout_s: float = 10.0, impersonate: str = IMPERSONATE) -> None:
        self._timeout = timeout_s
        self._proxy = proxy or None
        self._impersonate = impersonate
        self._session: cffi.AsyncSession | None = None

    def _s(self) -> cffi.AsyncSession:
        if self._session is None:
            self._session = cffi.AsyncSession(
                impersonate=self._impersonate,  # type: ignore[arg-type]
                proxy=self._proxy,
                timeout=self._timeout,
                allow_redirects=True,
                discard_cookies=True,  # no shared jar: each identity sends only its own cookies
            )
        return self._session

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
    ) -> UpstreamResponse:
        hdrs = dict(headers or {})
        if cookies:
            hdrs["Cookie"] = cookie_header(cookies)
        try:
            r = await self._s().request(
                method,  # type: ignore[arg-type]
                url,
                params=dict(params) if params else None,
                headers=hdrs,
                data=data,
                json=json_body,
            )
        except RequestException as exc:
            text = str(exc)
            kind = "timeout" if "timed out" in text.lower() or "timeout" in text.lower() else "unreachable"
            raise UpstreamError(kind, f"TikTok upstream {kind}: {text[:200]}") from None
        set_cookie = r.headers.get_list("set-cookie") if hasattr(r.headers, "get_list") else []
        headers_out = {k.lower(): v for k, v in r.headers.items()}
        return UpstreamResponse(r.status_code, headers_out, parse_set_cookies(list(set_cookie)), r.content)

    async def get(self, url: str, **kw: Any) -> UpstreamResponse:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> UpstreamResponse:
        return await self.request("POST", url, **kw)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
