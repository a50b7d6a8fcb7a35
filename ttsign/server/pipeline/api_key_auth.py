"""API-key auth: who the caller is, and whether it may call.

Public paths (`/health`, `/metrics`, the docs) need no key. With no keys configured (open mode, loopback
only) every caller may call and is named by its address (`ip:127.0.0.1`). With keys, an address that has
used up its failed attempts gets a 429 first (`ttsign.server.auth_throttle`), then a missing or wrong key
is a 401 with `WWW-Authenticate`; a right key names the caller by the key's id (`key:` and a hash, never the
key). The caller goes on `scope["state"]["caller"]` for the rate limits and the access log.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from ttsign.server.auth import WWW_AUTHENTICATE, KeyRing, extract_key
from ttsign.server.auth_throttle import AuthThrottle
from ttsign.server.errors import ApiError
from ttsign.server.pipeline.asgi import PathSet, client_address, request_headers, send_error

PUBLIC_CALLER = "public"
PAGE_PATHS = frozenset({"/status"})
"""Pages a person opens in a browser, which cannot send a header: these (and only these, so a cookie never
signs anything) also take the key as `?api_key=` or the `ttsign_key` cookie (routes/status.py sets it)."""
PAGE_KEY_PARAM, PAGE_KEY_COOKIE = "api_key", "ttsign_key"  # logs mask `api_key=` by name, a Cookie header whole


def page_key(scope: Scope) -> str | None:
    """A page's key: `?api_key=` first (a new key replaces an old cookie), else the `ttsign_key` cookie."""
    raw = scope.get("query_string", b"").decode("latin-1")
    key = next((v for k, v in parse_qsl(raw)[:64] if k == PAGE_KEY_PARAM), None) if raw else None
    cookie = request_headers(scope).get("cookie", "")
    key = key or (cookie_parser(cookie).get(PAGE_KEY_COOKIE) if cookie else None)
    return (key.strip() or None) if key else None


class ApiKeyAuth:
    def __init__(self, app: ASGIApp, *, keys: KeyRing, throttle: AuthThrottle, public: PathSet) -> None:
        self.app = app
        self.keys = keys
        self.throttle = throttle
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        if scope["path"] in self.public:
            state["caller"] = PUBLIC_CALLER
        elif not self.keys:
            state["caller"] = "ip:" + client_address(scope)
        else:
            try:
                state["caller"] = await self._caller(scope)
            except ApiError as err:
                return await send_error(send, err)
        await self.app(scope, receive, send)

    async def _caller(self, scope: Scope) -> str:
        address = client_address(scope)
        await self.throttle.check_async(address)
        key = extract_key(request_headers(scope))
        if not key and scope["type"] == "http" and scope["path"] in PAGE_PATHS:  # a browser sends no header
            key = page_key(scope)
            if not key:
                message = "missing API key: open this page as /status?api_key=YOUR_KEY"
                raise ApiError(401, message, headers=WWW_AUTHENTICATE)
        if not key:
            raise ApiError(401, "missing API key: send it in the X-Api-Key header", headers=WWW_AUTHENTICATE)
        caller = self.keys.caller_of(key)
        if caller is None:
            await self.throttle.failed_async(address)
            raise ApiError(401, "invalid API key (check TTSIGN_API_KEYS on the server)", headers=WWW_AUTHENTICATE)
        return caller
