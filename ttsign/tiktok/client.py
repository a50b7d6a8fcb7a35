"""`TikTokClient`: the upstream pieces (HTTP session, identity pool, rooms, connect strategy) wired from settings."""

from __future__ import annotations

from ttsign.algorithms.navigator import get_preset
from ttsign.config import Settings
from ttsign.tiktok.http import Transport, Upstream
from ttsign.tiktok.identity_pool import IdentityPool, TtwidIssuer
from ttsign.tiktok.rooms import Rooms
from ttsign.tiktok.webcast import AutoStrategy, ConnectStrategy, DirectStrategy, RelayStrategy, WsUrlSigner

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
        self.rooms = Rooms(self.upstream, www=settings.tiktok_www, webcast=settings.webcast_url, user_agent=ua)
        self.direct = DirectStrategy(self.pool, ws_url=settings.ws_url, ws_signer=ws_signer)
        self.relay = RelayStrategy(self.pool, self.upstream, webcast_url=settings.webcast_url)
        strategies: dict[str, ConnectStrategy] = {
            "direct": self.direct,
            "relay": self.relay,
            "auto": AutoStrategy(self.relay, self.direct),
        }
        self.strategy: ConnectStrategy = strategies[settings.connect_strategy]

    async def close(self) -> None:
        await self.pool.close()
        await self.upstream.close()
