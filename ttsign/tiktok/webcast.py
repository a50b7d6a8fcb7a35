"""Connect strategies: what `/webcast/fetch` and `/webcast/rooms/{id}/connect` answer.

Both client libraries need one HTTP answer: raw `ProtoMessageFetchResult` bytes plus cookies in
`X-Set-TT-Cookie`; they then open the WebSocket themselves (live-connect.md §0, §3).

* **direct** (default, §3.1): synthesize the fetch result locally and point the client at the player's
  direct socket (`ws_direct=1`), with an anonymous `ttwid` as the one cookie the socket needs. No
  `im/fetch`, which since 2026-09-09 gives headless callers an empty 200.
* **relay** (§3.2): the classic `webcast/im/fetch/` with the player's params, unsigned apart from a real
  msToken (TikTok answers any X-Gnarly / X-Dynosaur there with 403), relayed verbatim.
* **auto**: relay first, direct when relay yields an empty body, a 403, or bytes that do not parse.

A socket-URL signer hook (`WsUrlSigner`) can add params such as an X-Gnarly to `route_params`, in case
TikTok starts enforcing one on the socket (§2.2, "the one open conflict"). It is off by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ttsign.tiktok import proto
from ttsign.tiktok.http import Upstream, UpstreamError, simple_cookie_safe
from ttsign.tiktok.identity_pool import AnonIdentity, IdentityPool

WsUrlSigner = Callable[[dict[str, str]], dict[str, str]]
"""Given the socket's route params, return extra params to add (e.g. {"X-Gnarly": ...})."""

# live-connect.md §3.1 table row 7: the player's socket params the clients do not add themselves.
DIRECT_ROUTE_PARAMS = {
    "ws_direct": "1",
    "heartbeat_duration": "10000",
    "app_name": "tiktok_web",
    "version_code": "180800",
    "update_version_code": "2.0.0",
    "compress": "gzip",
    "device_platform": "web",
    "cookie_enabled": "true",
    "sup_ws_ds_opt": "1",
    "aid": "1988",
    "live_id": "12",
    "did_rule": "3",
    "identity": "audience",
    "client_enter": "1",
    "resp_content_type": "protobuf",
}
# §3.2: the player's im/fetch params.
FETCH_PARAMS = {
    "aid": "1988",
    "app_language": "en",
    "app_name": "tiktok_web",
    "browser_language": "en-US",
    "browser_name": "Mozilla",
    "browser_online": "true",
    "cookie_enabled": "true",
    "cursor": "",
    "internal_ext": "",
    "device_platform": "web",
    "did_rule": "3",
    "fetch_rule": "1",
    "history_comment_count": "6",
    "identity": "audience",
    "last_rtt": "0",
    "live_id": "12",
    "resp_content_type": "protobuf",
    "sup_ws_ds_opt": "1",
    "version_code": "180800",
    "webcast_language": "en",
}


class ConnectError(Exception):
    """`kind`: upstream_down, refused, empty, identity (mapped to 502/503 JSON by the route)."""

    def __init__(self, kind: str, message: str, *, retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class ConnectRequest:
    room_id: str
    user_agent: str
    cursor: str = ""


@dataclass(frozen=True)
class ConnectResult:
    body: bytes
    cookies: list[tuple[str, str]]  # ttwid first
    room_id: str
    strategy: str

    def set_tt_cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies if simple_cookie_safe(v))


class ConnectStrategy(Protocol):
    name: str

    async def connect(self, req: ConnectRequest) -> ConnectResult: ...


class DirectStrategy:
    """Synthesize the fetch result pointing at the direct socket (live-connect.md §3.1)."""

    name = "direct"

    def __init__(
        self,
        pool: IdentityPool,
        *,
        ws_url: str,
        ws_signer: WsUrlSigner | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pool = pool
        self.ws_url = ws_url.split("?", 1)[0]  # both clients append "?" + params themselves
        self.ws_signer = ws_signer
        self.clock = clock

    def build(self, room_id: str, now_ms: int) -> bytes:
        route = {**DIRECT_ROUTE_PARAMS, "room_id": room_id}
        if self.ws_signer is not None:
            route.update(self.ws_signer(dict(route)))
        return proto.encode_fetch_result(
            cursor=f"{now_ms}_0_0_0",  # any non-empty cursor; both clients reject an empty one
            push_server=self.ws_url,
            route_params=route,
            internal_ext="",
            is_first=True,  # TikTokLive gates ConnectEvent, im_enter_room and heartbeats on it
            need_ack=False,
            now_ms=now_ms,
            fetch_interval=1000,
            fetch_type=1,
            heartbeat_duration=10000,
        )

    async def connect(self, req: ConnectRequest) -> ConnectResult:
        ident = await _identity(self.pool)
        body = self.build(req.room_id, int(self.clock() * 1000))
        return ConnectResult(body, ident.cookie_pairs(), req.room_id, self.name)


class RelayStrategy:
    """The classic `im/fetch` relayed verbatim (live-connect.md §3.2)."""

    name = "relay"

    def __init__(self, pool: IdentityPool, upstream: Upstream, *, webcast_url: str) -> None:
        self.pool = pool
        self.upstream = upstream
        self.url = webcast_url.rstrip("/") + "/im/fetch/"

    async def connect(self, req: ConnectRequest) -> ConnectResult:
        ident = await _identity(self.pool)
        params = {**FETCH_PARAMS, "room_id": req.room_id, "cursor": req.cursor}
        ua = req.user_agent
        params["browser_version"] = ua.removeprefix("Mozilla/")
        params["msToken"] = ident.ms_token or ""  # a real one or empty; never invented
        try:
            resp = await self.upstream.get(self.url, params=params, headers={"User-Agent": ua}, cookies=_jar(ident))
        except UpstreamError as exc:
            raise ConnectError("upstream_down", f"im/fetch failed: {exc}") from None
        ident.observe(resp)
        if resp.status == 403:
            raise ConnectError("refused", "TikTok refused im/fetch with HTTP 403")
        if resp.status != 200:
            raise ConnectError("upstream_down", f"im/fetch answered HTTP {resp.status}")
        if not resp.body:
            gate = " (tt_orcas_res gate)" if resp.headers.get("tt_orcas_res") else ""
            raise ConnectError("empty", f"im/fetch answered an empty 200{gate}; TikTok wants a browser session")
        try:
            proto.decode_fetch_result(resp.body)
        except ValueError:
            raise ConnectError("empty", "im/fetch answered bytes that are not a fetch result") from None
        cookies = ident.cookie_pairs()
        seen = {k for k, _ in cookies}
        cookies += [(k, v) for k, v in resp.set_cookies.items() if k not in seen and k != "msToken"]
        return ConnectResult(resp.body, cookies, req.room_id, self.name)


class AutoStrategy:
    """Relay first; on an empty body, a 403 or garbage fall back to direct."""

    name = "auto"

    def __init__(self, relay: RelayStrategy, direct: DirectStrategy) -> None:
        self.relay = relay
        self.direct = direct

    async def connect(self, req: ConnectRequest) -> ConnectResult:
        try:
            return await self.relay.connect(req)
        except ConnectError as exc:
            if exc.kind == "identity":
                raise
            return await self.direct.connect(req)


async def _identity(pool: IdentityPool) -> AnonIdentity:
    from ttsign.tiktok.identity_pool import IdentityUnavailable

    try:
        return await pool.acquire()
    except IdentityUnavailable as exc:
        kind = "upstream_down" if exc.upstream_down else "identity"
        raise ConnectError(kind, str(exc), retry_after_s=exc.retry_after_s) from None


def _jar(ident: AnonIdentity) -> dict[str, str]:
    return {k: v for k, v in ident.cookies.items() if k != "msToken"}
