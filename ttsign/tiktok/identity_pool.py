"""Anonymous TikTok identities: a real `ttwid` (plus the cookies issued with it) and any real msToken.

Acquisition (shared/protocol/live-connect.md §2.1): `POST` the union register endpoint first (a JSON
endpoint, least prone to bot shells), then fall back to `GET {www}/live`, whose response sets `ttwid`,
`tt_csrf_token` and `tt_chain_token`. Nothing here is invented: a ttwid is server-signed and an msToken
is only ever one TikTok sent us (`x-ms-token` header or `msToken` cookie).

Identities are cached for a TTL (2 h by default, as rust-srec does), paced (all-chat measured that about
15 socket connects per hour flag an identity), dropped when TikTok refuses them, and the pool grows up to
`max_identities` when load needs more than one.

Fetching is single-flight: when no identity is free, one fetch runs and every caller that needs one awaits
that same fetch (shielded, so a caller giving up does not cancel it for the others). The fetch is bounded
by `timeout_s`, so no waiter waits longer; its failure reaches every current waiter, and the next caller
starts a fresh fetch.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ttsign.tiktok.failures import RATE_LIMITED, TIMEOUT, UNREACHABLE, describe, kind_of, retry_after_of
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
    """No ttwid could be obtained.

    `reason`: `pace` (every identity at its pace limit), `no_ttwid` (TikTok answered without one),
    `unreachable`, `timeout` or `rate_limited` (TikTok's 429; `retry_after_s` is its wait when it sent one).
    """

    def __init__(self, message: str, *, reason: str = "no_ttwid", retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_s = retry_after_s

    @property
    def upstream_down(self) -> bool:
        """TikTok could not be reached or did not answer (as opposed to answering without a ttwid)."""
        return self.reason in (UNREACHABLE, TIMEOUT)


PACE_WINDOW_S = 3600.0


class ConnectLog:
    """The connects an identity made in the last hour, in bounded memory.

    Each entry is `[minute, count, latest time]`. While the log is short (under `EXACT` entries) every
    connect is its own entry, so pacing is exact; past that, connects in the same minute share one entry,
    so an identity that makes millions of connects (pacing effectively off) costs a bounded few KB
    instead of a record per connect. An entry expires an hour after the *latest* connect in it, so a
    merged connect may be counted up to a minute longer than exactly, never shorter: the pace limit is
    never exceeded.
    """

    EXACT = 64

    __slots__ = ("_buckets", "_count")

    def __init__(self) -> None:
        self._buckets: deque[list[float]] = deque()
        self._count = 0

    def add(self, now: float) -> None:
        minute = now // 60
        if len(self._buckets) >= self.EXACT and self._buckets[-1][0] == minute:
            bucket = self._buckets[-1]
            bucket[1] += 1
            bucket[2] = max(bucket[2], now)
        else:
            self._buckets.append([minute, 1, now])
        self._count += 1

    def prune(self, now: float) -> None:
        while self._buckets and now - self._buckets[0][2] >= PACE_WINDOW_S:
            self._count -= int(self._buckets.popleft()[1])

    def oldest(self) -> float | None:
        """The time of the oldest counted connect (it frees an hour later), or None when there is none."""
        return self._buckets[0][2] if self._buckets else None

    def __len__(self) -> int:
        return self._count


@dataclass
class AnonIdentity:
    cookies: dict[str, str]
    created: float
    ms_token: str | None = None
    connects: ConnectLog = field(default_factory=ConnectLog)
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
        kinds: list[str] = []
        waits: list[float] = []
        for attempt, what in ((self._register, "register"), (self._live_page, "live_page")):
            try:
                resp = await attempt()
            except UpstreamError as exc:
                errors.append(f"{what}: {describe(exc, 'ttwid issuer' if what == 'register' else '/live')}")
                kinds.append(kind_of(exc))
                waits.append(retry_after_of(exc) or 0.0)
                continue
            if resp.status == 429:
                errors.append(f"{what}: HTTP 429 (TikTok is rate limiting us)")
                kinds.append(RATE_LIMITED)
                waits.append(retry_after_of(resp) or 0.0)
                continue
            cookies = {k: v for k, v in resp.set_cookies.items() if k in KEPT_COOKIES and v}
            if resp.headers.get("x-ms-token"):
                cookies["msToken"] = resp.headers["x-ms-token"]
            if cookies.get("ttwid"):
                return cookies
            kinds.append(UNREACHABLE if resp.status >= 500 else "no_ttwid")  # a 5xx is TikTok down
            errors.append(f"{what}: HTTP {resp.status} without a ttwid cookie")
        raise IdentityUnavailable(
            "could not obtain a ttwid from TikTok: " + "; ".join(errors),
            reason=_overall(kinds),
            retry_after_s=max(waits, default=0.0),
        )

    async def _register(self) -> UpstreamResponse:
        return await self.upstream.post(
            self.ttwid_url, json_body=UNION_REGISTER_BODY, headers={"User-Agent": self.user_agent}
        )

    async def _live_page(self) -> UpstreamResponse:
        return await self.upstream.get(f"{self.www}/live", headers={"User-Agent": self.user_agent})


def _overall(kinds: list[str]) -> str:
    """One reason for both attempts: TikTok's 429 wins, then 'answered without a ttwid', then down."""
    if RATE_LIMITED in kinds:
        return RATE_LIMITED
    if "no_ttwid" in kinds:
        return "no_ttwid"
    return TIMEOUT if TIMEOUT in kinds else UNREACHABLE


class IdentityPool:
    """A small pool of anonymous identities with TTL, pacing, refusal handling and single-flight fetching."""

    def __init__(
        self,
        issue: Callable[[], Awaitable[Mapping[str, str]]],
        *,
        ttl_s: float = 7200.0,
        connects_per_hour: int = 15,
        max_identities: int = 8,
        timeout_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issue = issue
        self.ttl_s = ttl_s
        self.connects_per_hour = connects_per_hour
        self.max_identities = max_identities
        self.timeout_s = timeout_s
        self._clock = clock
        self._items: list[AnonIdentity] = []
        self._inflight: asyncio.Task[AnonIdentity] | None = None

    def _prune(self, now: float) -> None:
        self._items = [i for i in self._items if not i.burned and now - i.created < self.ttl_s]
        for ident in self._items:
            ident.connects.prune(now)

    def _has_room(self, ident: AnonIdentity) -> bool:
        return not ident.burned and len(ident.connects) < self.connects_per_hour

    def _take(self, ident: AnonIdentity, count_connect: bool) -> AnonIdentity:
        if count_connect:
            ident.connects.add(self._clock())
        return ident

    async def acquire(self, *, count_connect: bool = True) -> AnonIdentity:
        """An identity under its pace limit; when none is free, join (or start) the one in-flight fetch."""
        while True:
            now = self._clock()
            self._prune(now)
            ident = next((i for i in self._items if self._has_room(i)), None)
            if ident is not None:
                return self._take(ident, count_connect)
            if len(self._items) >= self.max_identities:
                oldest = [t for t in (i.connects.oldest() for i in self._items) if t is not None]
                wait = min((PACE_WINDOW_S - (now - t) for t in oldest), default=1.0)
                raise IdentityUnavailable(
                    f"every identity is at its pace limit of {self.connects_per_hour} connects per hour",
                    reason="pace",
                    retry_after_s=max(1.0, wait),
                )
            fetched = await asyncio.shield(self._fetch_task())
            if self._has_room(fetched):
                return self._take(fetched, count_connect)
            # the waiters of that fetch used up its pace (or it was burned): loop, the pool grows by one

    def _fetch_task(self) -> asyncio.Task[AnonIdentity]:
        task = self._inflight
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.get_running_loop().create_task(self._fetch(), name="ttsign-identity-fetch")
            task.add_done_callback(self._fetch_done)
            self._inflight = task
        return task

    def _fetch_done(self, task: asyncio.Task[AnonIdentity]) -> None:
        if self._inflight is task:
            self._inflight = None  # success or failure, the next caller that needs one starts afresh
        if not task.cancelled():
            task.exception()  # retrieved here, so a fetch every waiter gave up on logs no asyncio warning

    async def _fetch(self) -> AnonIdentity:
        try:
            async with asyncio.timeout(self.timeout_s):
                cookies = await self._issue()
        except TimeoutError:
            raise IdentityUnavailable(
                f"TikTok did not issue a ttwid within {self.timeout_s:g} s", reason=TIMEOUT
            ) from None
        ident = AnonIdentity(dict(cookies), self._clock(), ms_token=cookies.get("msToken"))
        self._items.append(ident)
        return ident

    def burn(self, ident: AnonIdentity) -> None:
        """TikTok refused this identity: never hand it out again."""
        ident.burned = True

    def size(self) -> int:
        return len(self._items)

    def stats(self) -> dict[str, Any]:
        """What `/health` and the metrics show: counts, ages and pace, never a cookie or token value."""
        now = self._clock()
        self._prune(now)
        items = [
            {
                "age_s": round(now - i.created, 1),
                "expires_in_s": round(max(0.0, self.ttl_s - (now - i.created)), 1),
                "connects_last_hour": len(i.connects),
                "connects_left": max(0, self.connects_per_hour - len(i.connects)),
                "has_ms_token": bool(i.ms_token),
            }
            for i in self._items
        ]
        return {
            "identities": len(items),
            "max_identities": self.max_identities,
            "connects_per_hour": self.connects_per_hour,
            "ttl_s": self.ttl_s,
            "connects_left": sum(int(i["connects_left"]) for i in items),
            "fetch_in_flight": self._inflight is not None and not self._inflight.done(),
            "items": items,
        }

    async def close(self) -> None:
        """Cancel a fetch still in flight (server shutdown)."""
        task, self._inflight = self._inflight, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
