"""Connect strategies: what `/webcast/fetch` and `/webcast/rooms/{id}/connect` answer.

Both client libraries need one HTTP answer: raw `ProtoMessageFetchResult` bytes plus cookies in
`X-Set-TT-Cookie`; they then open the WebSocket themselves (live-connect.md §0, §3).

* **direct** (default, §3.1): synthesize the fetch result locally and point the client at the player's
  direct socket (`ws_direct=1`), with an anonymous `ttwid` as the one cookie the socket needs. No
  `im/fetch`, which since 2026-09-09 gives headless callers an empty 200.
* **relay** (§3.2): the classic `webcast/im/fetch/` with the player's params, unsigned apart from a real
  msToken (TikTok answers any X-Gnarly / X-Dynosaur there with 403), relayed verbatim.
* **auto**: relay first, direct when relay's `im/fetch` fails (an empty body, a 403, bytes that do not
  parse, an error or a timeout). Both use the one identity acquired first: a failed acquisition is not
  retried, and the fallback does not count a second connect against the identity's pace.

A socket-URL signer hook (`WsUrlSigner`) can add params such as an X-Bogus or X-Gnarly to `route_params`,
in case TikTok enforces one on the socket (§2.2, "the one open conflict"). It is off by default; a signer
with an async `choose` (`ws_modes.AutoWsSigner`) probes the socket first, and its refusals are connect errors
(`socket_refused`, `upstream_down`, `timeout`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ttsign.tiktok import proto
from ttsign.tiktok.failures import RATE_LIMITED, TIMEOUT, UNREACHABLE, describe, kind_of, retry_after_of
from ttsign.tiktok.http import Upstream, UpstreamError, simple_cookie_safe
from ttsign.tiktok.identity_pool import AnonIdentity, IdentityPool, IdentityUnavailable
from ttsign.tiktok.session import SESSION_COOKIES, CallerSession
from ttsign.tiktok.ws_modes import SocketModeError

AUTO_DIRECT_RESERVE_S = 0.1
"""Of the caller's time, what auto keeps back from relay so the (local, instant) direct fallback still answers."""

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
    """Why a connect failed; the route maps `kind` to a status.

    * `identity`: no identity free or TikTok answered without a ttwid (503, `retry_after_s`)
    * `rate_limited`: TikTok answered 429 (503 with TikTok's `retry_after_s`)
    * `timeout`: TikTok did not answer in time (504)
    * `upstream_down`, `refused`, `empty`: TikTok unreachable, a 403, no usable fetch result (502)
    * `bad_input`: the request cannot be sent upstream as given (400)
    """

    def __init__(self, kind: str, message: str, *, retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class ConnectRequest:
    room_id: str
    user_agent: str
    cursor: str = ""
    deadline: float | None = None
    """Event-loop time (`loop.time()`) by which the caller must have an answer; None: no deadline."""


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

    def build(self, room_id: str, now_ms: int, signed: dict[str, str] | None = None) -> bytes:
        """`signed`: the socket params a probing signer chose (`ws_modes`); None: ask `ws_signer` now."""
        route = {**DIRECT_ROUTE_PARAMS, "room_id": room_id}
        if signed is not None:
            route.update(signed)
        elif self.ws_signer is not None:
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
        return await self.signed_result(req, await _identity(self.pool))

    async def signed_result(self, req: ConnectRequest, ident: AnonIdentity) -> ConnectResult:
        """`result`, after a probing socket signer (`TTSIGN_WS_SIGNER=auto`) found what the socket accepts."""
        choose = getattr(self.ws_signer, "choose", None)
        if choose is None:
            return self.result(req, ident)
        route = {**DIRECT_ROUTE_PARAMS, "room_id": req.room_id}
        try:
            signed = await choose(ident, route, ws_url=self.ws_url, deadline=req.deadline)
        except SocketModeError as exc:
            raise ConnectError(exc.kind, str(exc)) from None
        return self.result(req, ident, signed)

    def result(self, req: ConnectRequest, ident: AnonIdentity, signed: dict[str, str] | None = None) -> ConnectResult:
        body = self.build(req.room_id, int(self.clock() * 1000), signed)
        return ConnectResult(body, ident.cookie_pairs(), req.room_id, self.name)


class RelayStrategy:
    """The classic `im/fetch` relayed verbatim (live-connect.md §3.2)."""

    name = "relay"

    def __init__(self, pool: IdentityPool, upstream: Upstream, *, webcast_url: str) -> None:
        self.pool = pool
        self.upstream = upstream
        self.url = webcast_url.rstrip("/") + "/im/fetch/"

    async def connect(self, req: ConnectRequest) -> ConnectResult:
        return await self.fetch(req, await _identity(self.pool))

    async def fetch(
        self, req: ConnectRequest, ident: AnonIdentity, session: CallerSession | None = None
    ) -> ConnectResult:
        """`im/fetch` for `req` with an identity already acquired.

        `session`: the caller's own login cookies, sent on this one request beside `ident`'s (which is then
        that caller's private identity, never a pooled one: `TikTokClient.connect`). No session cookie is
        ever put in the answer's cookies (the caller has them already).
        """
        ua = req.user_agent
        if not ua.isascii():
            raise ConnectError("bad_input", "user_agent must be ASCII: it is sent to TikTok as an HTTP header")
        params = {**FETCH_PARAMS, "room_id": req.room_id, "cursor": req.cursor}
        params["browser_version"] = ua.removeprefix("Mozilla/")
        params["msToken"] = ident.ms_token or ""  # a real one or empty; never invented
        try:
            jar = _jar(ident, session)
            resp = await self.upstream.get(self.url, params=params, headers={"User-Agent": ua}, cookies=jar)
        except UpstreamError as exc:
            kind = {TIMEOUT: "timeout", RATE_LIMITED: "rate_limited"}.get(kind_of(exc), "upstream_down")
            raise ConnectError(kind, describe(exc, "im/fetch"), retry_after_s=retry_after_of(exc) or 0.0) from None
        ident.observe(resp)
        if resp.status == 429:
            wait = retry_after_of(resp) or 0.0
            raise ConnectError("rate_limited", "TikTok im/fetch is rate limiting us (HTTP 429)", retry_after_s=wait)
        if resp.status == 403:
            raise ConnectError("refused", "TikTok refused im/fetch with HTTP 403")
        if resp.status != 200:
            raise ConnectError("upstream_down", f"TikTok im/fetch answered HTTP {resp.status}")
        if not resp.body:
            gate = " (tt_orcas_res gate)" if resp.headers.get("tt_orcas_res") else ""
            raise ConnectError("empty", f"im/fetch answered an empty 200{gate}; TikTok wants a browser session")
        try:
            proto.decode_fetch_result(resp.body)
        except ValueError:
            raise ConnectError("empty", "im/fetch answered bytes that are not a fetch result") from None
        cookies = ident.cookie_pairs()
        seen = {k for k, _ in cookies}
        skip = seen | {"msToken", *SESSION_COOKIES}
        cookies += [(k, v) for k, v in resp.set_cookies.items() if k not in skip]
        return ConnectResult(resp.body, cookies, req.room_id, self.name)


class AutoStrategy:
    """Relay first; when `im/fetch` fails in any way, fall back to direct with the same identity."""

    name = "auto"

    def __init__(self, relay: RelayStrategy, direct: DirectStrategy) -> None:
        self.relay = relay
        self.direct = direct

    async def connect(self, req: ConnectRequest) -> ConnectResult:
        ident = await _identity(self.relay.pool)  # no identity: no fallback either (it needs one too)
        relay_until = None if req.deadline is None else req.deadline - AUTO_DIRECT_RESERVE_S
        try:
            async with asyncio.timeout_at(relay_until):
                return await self.relay.fetch(req, ident)
        except ConnectError as exc:
            if exc.kind == "bad_input":
                raise
        except TimeoutError:
            pass  # relay used up the caller's time: direct answers in what is left
        return await self.direct.signed_result(req, ident)


async def _identity(pool: IdentityPool) -> AnonIdentity:
    try:
        return await pool.acquire()
    except IdentityUnavailable as exc:
        kind = {UNREACHABLE: "upstream_down", TIMEOUT: "timeout", RATE_LIMITED: "rate_limited"}.get(
            exc.reason, "identity"
        )
        raise ConnectError(kind, str(exc), retry_after_s=exc.retry_after_s) from None


def _jar(ident: AnonIdentity, session: CallerSession | None = None) -> dict[str, str]:
    jar = {k: v for k, v in ident.cookies.items() if k != "msToken"}
    return jar if session is None else {**jar, **session.cookies}
