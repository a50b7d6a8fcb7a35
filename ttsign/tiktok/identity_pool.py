"""Anonymous TikTok identities: a real `ttwid` (plus the cookies issued with it) and any real msToken.

Acquisition (shared/protocol/live-connect.md §2.1): `POST` the union register endpoint first (a JSON
endpoint, least prone to bot shells), then fall back to `GET {www}/live`, whose response sets `ttwid`,
`tt_csrf_token` and `tt_chain_token`. Nothing here is invented: a ttwid is server-signed and an msToken
is only ever one TikTok sent us (`x-ms-token` header or `msToken` cookie).

Identities are cached for a TTL (2 h by default, as rust-srec does), paced (all-chat measured that about
15 socket connects per hour flag an identity), dropped when TikTok refuses them, and the pool grows up to
`max_identities` when load needs more than one.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ttsign.tiktok.http import Upstream, UpstreamError, UpstreamResponse

# live-connect.md §2.1 recipe 2 (rust-srec, 2026-09-13): aid 1768 is TikTok web; 1988 is refused here.
UNION_REGISTER_BODY = {
    "region": "va",
    "aid": 1768,
    "needFid": False,
    "service": "https://www.tiktok.com",
    "migrate_priority": 0,
    "cbUrlProtocol": "https",
    "misleep": 100,
}
KEPT_COOKIES = ("ttwid", "tt_csrf_token", "tt_chain_token", "msToken")


class IdentityUnavailable(Exception):
    """No ttwid could be obtained (TikTok down, bot-walled, or every identity at its pace limit)."""

    def __init__(self, message: str, *, retry_after_s: float = 0.0, upstream_down: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.upstream_down = upstream_down


@dataclass
class AnonIdentity:
    cookies: dict[str, str]
    created: float
    ms_token: str | None = None
    connects: deque[float] = field(default_factory=deque)
    burned: bool = False

    @property
    def ttwid(self) -> str:
        return self.cookies["ttwid"]

    def cookie_pairs(self) -> list[tuple[str, str]]:
        """Cookies for `X-Set-TT-Cookie`, ttwid first (the connector keeps only the first one)."""
        first = [("ttwid", self.cookies["ttwid"])]
        rest = [(k, v) for k, v in self.cookies.items() if k not in ("ttwid", "msToken")]
        return first + rest

    def observe(self, resp: UpstreamResponse) -> None:
        """Keep a real msToken TikTok sent back (header or cookie); refresh rotated cookies."""
        token = resp.headers.get("x-ms-token") or resp.set_cookies.get("msToken")
        if token:
            self.ms_token = token
        for name in ("ttwid", "tt_csrf_token", "tt_chain_token"):
            if resp.set_cookies.get(name):
                self.cookies[name] = resp.set_cookies[name]


class TtwidIssuer:
    """Fetches a fresh anonymous identity from TikTok (register endpoint, then `/live`)."""

    def __init__(self, upstream: Upstream, *, ttwid_url: str, www: str, user_agent: str) -> None:
        self.upstream = upstream
        self.ttwid_url = ttwid_url
        self.www = www.rstrip("/")
        self.user_agent = user_agent

    async def issue(self) -> dict[str, str]:
        errors: list[str] = []
        down = 0
        for attempt in (self._register, self._live_page):
            try:
                resp = await attempt()
            except UpstreamError as exc:
                errors.append(str(exc))
                down += 1
                continue
            cookies = {k: v for k, v in resp.set_cookies.items() if k in KEPT_COOKIES and v}
            if resp.headers.get("x-ms-token"):
                cookies["msToken"] = resp.headers["x-ms-token"]
            if cookies.get("ttwid"):
                return cookies
            down += resp.status >= 500  # a 5xx is TikTok down, not a missing cookie
            errors.append(f"{attempt.__name__.strip('_')}: HTTP {resp.status} without a ttwid cookie")
        raise IdentityUnavailable("could not obtain a ttwid from TikTok: " + "; ".join(errors), upstream_down=down == 2)

    async def _register(self) -> UpstreamResponse:
        return await self.upstream.post(
            self.ttwid_url, json_body=UNION_REGISTER_BODY, headers={"User-Agent": self.user_agent}
        )

    async def _live_page(self) -> UpstreamResponse:
        return await self.upstream.get(f"{self.www}/live", headers={"User-Agent": self.user_agent})


class IdentityPool:
    """A small pool of anonymous identities with TTL, pacing and refusal handling."""

    def __init__(
        self,
        issue: Callable[[], object],
        *,
        ttl_s: float = 7200.0,
        connects_per_hour: int = 15,
        max_identities: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issue = issue
        self.ttl_s = ttl_s
        self.connects_per_hour = connects_per_hour
        self.max_identities = max_identities
        self._clock = clock
        self._items: list[AnonIdentity] = []
        self._lock = asyncio.Lock()

    def _prune(self, now: float) -> None:
        self._items = [i for i in self._items if not i.burned and now - i.created < self.ttl_s]
        for ident in self._items:
            while ident.connects and now - ident.connects[0] >= 3600:
                ident.connects.popleft()

    def _has_room(self, ident: AnonIdentity) -> bool:
        return len(ident.connects) < self.connects_per_hour

    async def acquire(self, *, count_connect: bool = True) -> AnonIdentity:
        """An identity under its pace limit, creating one when none is free (at most one fetch at a time)."""
        async with self._lock:
            now = self._clock()
            self._prune(now)
            ident = next((i for i in self._items if self._has_room(i)), None)
            if ident is None:
                if len(self._items) >= self.max_identities:
                    wait = min(3600 - (now - i.connects[0]) for i in self._items if i.connects)
                    raise IdentityUnavailable(
                        f"every identity is at its pace limit of {self.connects_per_hour} connects per hour",
                        retry_after_s=max(1.0, wait),
                    )
                cookies = await self._issue()  # type: ignore[misc]
                ident = AnonIdentity(dict(cookies), now, ms_token=cookies.get("msToken"))
                self._items.append(ident)
            if count_connect:
                ident.connects.append(now)
            return ident

    def burn(self, ident: AnonIdentity) -> None:
        """TikTok refused this identity: never hand it out again."""
        ident.burned = True

    def size(self) -> int:
        return len(self._items)
