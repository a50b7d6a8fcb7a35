"""API-key auth: who the caller is, and whether it may call (HTTP and WebSocket alike).

Public paths (`/health`, `/metrics`, the docs) need no key; they are HTTP only (no WebSocket is public, so
the Euler-compatible socket at `/` is keyed while the landing page at `/` is not). With no keys configured
(open mode, loopback only) every caller may call and is named by its address (`ip:127.0.0.1`). With keys,
an address that has used up its failed attempts gets a 429 first (`ttsign.server.auth_throttle`), then a
missing or wrong key is a 401 with `WWW-Authenticate`; a right key names the caller by the key's id (`key:`
and a hash, never the key). The caller goes on `scope["state"]["caller"]` for the rate limits and the log.

Where the key may be: the `X-Api-Key` or `Authorization: Bearer` header; on a WebSocket also the `apiKey`
query parameter (what Euler's WebSocket SDK sends; a browser cannot set headers on a WebSocket).

Room tokens (`ttsign.relay.tokens`): the relay paths (`/v1/rooms/{id}/events`, `/v1/rooms/{id}/ws`,
`/overlay/{id}`, and the Euler-compatible socket, whose room is its `uniqueId` query parameter) also take
`?token=` (on the Euler socket `jwtKey=` too, where Euler's SDK puts its per-creator credential). A token
presented is always checked, open mode included; the caller is then the key that asked for the token
(its `owner` claim). A malformed, forged or expired token is a 401; a token for another room is a 401 over
HTTP and a close with 4403 (Euler's "no permission") on a WebSocket.

A refused WebSocket is accepted and then closed with a 4xxx code and the reason (the codes of Euler's
SDK: 4401 invalid auth, 4403 no permission, 4429 too many attempts), since a client only sees a close
code after the handshake; before that it would see a bare HTTP 403. The presented key or token is
registered for redaction for every line logged while the socket is handled (uvicorn's `WebSocket ...`
line included; the names `apiKey`, `jwtKey` and `token` are masked in any line by `ttsign.server.logs`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from ttsign.relay.tokens import RoomTokens, TokenInvalid
from ttsign.server import logs
from ttsign.server.auth import WWW_AUTHENTICATE, KeyRing, extract_key
from ttsign.server.auth_throttle import AuthThrottle
from ttsign.server.errors import ApiError
from ttsign.server.pipeline.asgi import PathSet, client_address, request_headers, send_error

PUBLIC_CALLER = "public"
EULER_WS_PATHS = frozenset({"/", "/v1/euler/ws"})
"""Where the Euler-compatible socket listens (`EULER_WS_URL=ws://host:port` opens `/`)."""
_ROOM_PATH = re.compile(r"^/(?:v1/rooms/(?P<rooms>[^/]+)/(?:events|ws)|overlay/(?P<overlay>[^/]+))$")
MAX_QUERY_PAIRS = 64
WS_CLOSE_AUTH = 4401
WS_CLOSE_FORBIDDEN = 4403
WS_CLOSE_THROTTLED = 4429
_MAX_REASON_BYTES = 123  # RFC 6455 §5.5: a control frame's payload is <= 125 bytes, 2 of them the code
PAGE_PATHS = frozenset({"/status"})
"""Pages a person opens in a browser, which cannot send a header: these (and only these, so a cookie never
signs anything) also take the key as `?api_key=` or the `ttsign_key` cookie (routes/status.py sets it)."""
PAGE_KEY_PARAM, PAGE_KEY_COOKIE = "api_key", "ttsign_key"  # logs mask `api_key=` by name, a Cookie header whole


class _OtherRoom(ApiError):
    """A valid token for another room."""


def query_params(scope: Scope) -> dict[str, str]:
    """The query's parameters (the first value of each name), bounded; never raises."""
    raw = scope.get("query_string", b"")
    if not raw:
        return {}
    out: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True)[:MAX_QUERY_PAIRS]:
        out.setdefault(name, value)
    return out


def page_key(scope: Scope, query: dict[str, str]) -> str | None:
    """A page's key: `?api_key=` first (a new key replaces an old cookie), else the `ttsign_key` cookie."""
    cookie = request_headers(scope).get("cookie", "")
    key = query.get(PAGE_KEY_PARAM) or (cookie_parser(cookie).get(PAGE_KEY_COOKIE) if cookie else None)
    return (key.strip() or None) if key else None


def relay_room(scope: Scope, query: dict[str, str]) -> str | None:
    """The room a relay path is for (the path's id, or the Euler socket's `uniqueId`), else None."""
    path = scope["path"]
    if scope["type"] == "websocket" and path in EULER_WS_PATHS:
        return query.get("uniqueId") or ""
    m = _ROOM_PATH.match(path)
    if m is None:
        return None
    return m["rooms"] or m["overlay"]


def _euler_room(raw: str) -> str:
    """Euler's `normalizeUniqueId` (a profile URL, `@name`): the token names the bare username."""
    return raw.replace("https://www.tiktok.com/", "").replace("/live", "").replace("@", "").strip()


class ApiKeyAuth:
    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: KeyRing,
        throttle: AuthThrottle,
        public: PathSet,
        tokens: RoomTokens | None = None,
    ) -> None:
        self.app = app
        self.keys = keys
        self.throttle = throttle
        self.public = public
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        if kind == "http" and scope["path"] in self.public:
            state["caller"] = PUBLIC_CALLER
            return await self.app(scope, receive, send)
        query = query_params(scope) if scope.get("query_string") else {}
        secrets_token = logs.begin_request(self._secrets(scope, query)) if kind == "websocket" else None
        try:
            try:
                state["caller"] = await self._caller(scope, query)
            except ApiError as err:
                if kind == "http":
                    return await send_error(send, err)
                return await self._refuse_socket(receive, send, err)
            await self.app(scope, receive, send)
        finally:
            if secrets_token is not None:
                logs.end_request(secrets_token)

    @staticmethod
    def _secrets(scope: Scope, query: dict[str, str]) -> list[str]:
        found = [query.get(name, "") for name in ("apiKey", "jwtKey", "token")]
        key = extract_key(request_headers(scope))
        return [s for s in [*found, key or ""] if s]

    async def _caller(self, scope: Scope, query: dict[str, str]) -> str:
        room = relay_room(scope, query)
        token = query.get("token") or (query.get("jwtKey") if scope["path"] in EULER_WS_PATHS else None)
        if room is not None and token:
            return await self._token_caller(scope, token, room)
        if not self.keys:
            return "ip:" + client_address(scope)
        address = client_address(scope)
        await self.throttle.check_async(address)
        key = extract_key(request_headers(scope))
        if not key and scope["type"] == "websocket":
            key = query.get("apiKey", "").strip() or None
        if not key and scope["type"] == "http" and scope["path"] in PAGE_PATHS:  # a browser sends no header
            key = page_key(scope, query)
            if not key:
                message = "missing API key: open this page as /status?api_key=YOUR_KEY"
                raise ApiError(401, message, headers=WWW_AUTHENTICATE)
        if not key:
            raise ApiError(
                401,
                "missing API key: send it in the X-Api-Key header (or ?token= on a room's relay path)",
                headers=WWW_AUTHENTICATE,
            )
        caller = self.keys.caller_of(key)
        if caller is None:
            await self.throttle.failed_async(address)
            raise ApiError(401, "invalid API key (check TTSIGN_API_KEYS on the server)", headers=WWW_AUTHENTICATE)
        return caller

    async def _token_caller(self, scope: Scope, token: str, room: str) -> str:
        address = client_address(scope)
        await self.throttle.check_async(address)
        if self.tokens is None:
            raise ApiError(401, "room tokens are not enabled on this server", headers=WWW_AUTHENTICATE)
        if scope["path"] in EULER_WS_PATHS and query_flag(scope, "features.normalizeUniqueId", True):
            room = _euler_room(room)
        try:
            claims = self.tokens.verify(token, room)
        except TokenInvalid as err:
            await self.throttle.failed_async(address)
            cls = _OtherRoom if "another room" in str(err) else ApiError
            raise cls(401, str(err), headers=WWW_AUTHENTICATE) from None
        return claims.owner

    @staticmethod
    async def _refuse_socket(receive: Receive, send: Send, err: ApiError) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":  # the client went away before the handshake finished
            return
        code = WS_CLOSE_THROTTLED if err.status == 429 else WS_CLOSE_AUTH
        if isinstance(err, _OtherRoom):
            code = WS_CLOSE_FORBIDDEN
        reason = err.message.encode("utf-8")[:_MAX_REASON_BYTES].decode("utf-8", "ignore")
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": code, "reason": reason})


def query_flag(scope: Scope, name: str, default: bool) -> bool:
    """A boolean query flag as Euler's SDK writes them (`true`/`false`/`1`/`0`); anything else: `default`."""
    value = query_params(scope).get(name)
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return default
