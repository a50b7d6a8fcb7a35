"""`TikTokClient`: the upstream pieces (HTTP session, identity pool, rooms, connect strategy) wired from settings.

`connect` is the one way in for a connect. Without a caller session it is the configured strategy over the
anonymous pool. With one (`ttsign.tiktok.session`), the caller gets an identity of its own: a fresh ttwid
issued for this request alone (never taken from the pool, never put in it), its login cookies beside it on
that request's `im/fetch`, and the same strategy choice (relay, direct, or relay then direct). So TikTok
never sees a pooled ttwid next to anyone's login (on im/fetch or on the socket the client then opens with
its own jar), and no answer TikTok gave a logged-in request refreshes a pooled identity.
"""

from __future__ import annotations

import asyncio
import time

from ttsign.algorithms.navigator import get_preset
from ttsign.config import Settings
from ttsign.tiktok.failures import RATE_LIMITED, TIMEOUT, UNREACHABLE
from ttsign.tiktok.http import Transport, Upstream
from ttsign.tiktok.identity_pool import AnonIdentity, IdentityPool, IdentityUnavailable, TtwidIssuer
from ttsign.tiktok.rooms import Rooms
from ttsign.tiktok.session import CallerSession
from ttsign.tiktok.webcast import (
    AUTO_DIRECT_RESERVE_S,
    AutoStrategy,
    ConnectError,
    ConnectRequest,
    ConnectResult,
    ConnectStrategy,
    DirectStrategy,
    RelayStrategy,
    WsUrlSigner,
)

CALLER_BUDGET_FACTOR = 1.5
"""A caller waits at most this many `TTSIGN_UPSTREAM_TIMEOUT`s, fallbacks included (then 504)."""


def caller_budget_s(settings: Settings) -> float:
    """The time one request may spend on TikTok in all (an identity fetch, then im/fetch or a fallback)."""
    return CALLER_BUDGET_FACTOR * settings.upstream_timeout_s


class TikTokClient:
    """`transport` replaces the HTTP wire (curl_cffi) under the real `Upstream`, e.g. a test's fake."""

    def __init__(
        self, settings: Settings, *, ws_signer: WsUrlSigner | None = None, transport: Transport | None = None
    ) -> None:
        ua = get_preset(settings.browser_preset).user_agent
        self.budget_s = caller_budget_s(settings)
        self.upstream = Upstream.from_settings(settings, transport=transport)  # proxy, timeout, caps, hosts
        self.issuer = TtwidIssuer(self.upstream, ttwid_url=settings.ttwid_url, www=settings.tiktok_www, user_agent=ua)
        self.pool = IdentityPool(
            self.issuer.issue,
            ttl_s=settings.ttwid_ttl_s,
            connects_per_hour=settings.connects_per_hour,
            timeout_s=self.budget_s,  # the one shared fetch (register, then /live) is bounded like any caller
        )
        from ttsign.tiktok.identity_pool import pool_for  # issue 11 hook: TTSIGN_STORE=redis:// shares the pool

        self.pool = pool_for(settings, self.pool)
        self.rooms = Rooms(self.upstream, www=settings.tiktok_www, webcast=settings.webcast_url, user_agent=ua)
        self.direct = DirectStrategy(self.pool, ws_url=settings.ws_url, ws_signer=ws_signer)
        self.relay = RelayStrategy(self.pool, self.upstream, webcast_url=settings.webcast_url)
        strategies: dict[str, ConnectStrategy] = {
            "direct": self.direct,
            "relay": self.relay,
            "auto": AutoStrategy(self.relay, self.direct),
        }
        self.strategy: ConnectStrategy = strategies[settings.connect_strategy]

    async def connect(self, req: ConnectRequest, session: CallerSession | None = None) -> ConnectResult:
        """The connect answer for `req`: anonymous (the pool) without `session`, the caller's own with it."""
        if session is None:
            return await self.strategy.connect(req)
        ident = await self.private_identity()
        name = self.strategy.name
        if name == "direct":
            return await self.direct.signed_result(req, ident)
        if name == "relay":
            return await self.relay.fetch(req, ident, session)
        relay_until = None if req.deadline is None else req.deadline - AUTO_DIRECT_RESERVE_S
        try:  # auto, as AutoStrategy: relay first, direct (same identity) when im/fetch fails in any way
            async with asyncio.timeout_at(relay_until):
                return await self.relay.fetch(req, ident, session)
        except ConnectError as exc:
            if exc.kind == "bad_input":
                raise
        except TimeoutError:
            pass
        return await self.direct.signed_result(req, ident)

    async def private_identity(self) -> AnonIdentity:
        """A fresh anonymous identity for one caller's request: issued now, not pooled, not paced, then dropped."""
        try:
            cookies = await self.issuer.issue()
        except IdentityUnavailable as exc:
            kind = {UNREACHABLE: "upstream_down", TIMEOUT: "timeout", RATE_LIMITED: "rate_limited"}.get(
                exc.reason, "identity"
            )
            raise ConnectError(kind, str(exc), retry_after_s=exc.retry_after_s) from None
        return AnonIdentity(dict(cookies), time.monotonic(), ms_token=cookies.get("msToken"))

    async def close(self) -> None:
        await self.pool.close()
        await self.upstream.close()
