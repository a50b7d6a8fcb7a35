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
import functools
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

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

if TYPE_CHECKING:
    from ttsign.config import Settings
    from ttsign.store.fallback import FallbackRateStore
    from ttsign.store.identities import RedisIdentities, Taken

log = structlog.get_logger("ttsign.identity_pool")


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
    shared_id: str | None = None  # its name in the shared store (`SharedIdentityPool`), None for a local one

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


class _Local:
    """The shared store is unreachable: this call is answered by the in-process pool."""


LOCAL = _Local()


class SharedIdentityPool(IdentityPool):
    """The identity pool in the shared store (`TTSIGN_STORE=redis://`): every worker of every instance takes
    its identities, and records its connects, in one Redis (`ttsign.store.identities`), so an identity never
    makes more than `connects_per_hour` connects across all of them.

    The take is one atomic script (the last connect of an identity goes to one caller only). When no
    identity is free, one fetch per instance runs (single-flight, as the local pool); across instances, a
    short lock (`SET NX PX`, as long as a fetch may take) lets one of them fetch while the others poll
    the store for what it stores, and fetch themselves if the lock expires or is released without one.

    Every store call is bounded by the store's timeout and goes through `FallbackRateStore`'s outage
    machinery (backoff, one probe at a time, recovery): while the store fails, this pool answers as the
    in-process `IdentityPool` it extends (its own identities, this process's pacing), with one warning per
    outage and `ttsign_store_fallback_total`-style counts in `events`; the first answer from the store ends
    it. Times in the store are wall-clock (`wall`), so hosts share them (keep them on NTP).
    """

    def __init__(
        self,
        issue: Callable[[], Awaitable[Mapping[str, str]]],
        *,
        store: FallbackRateStore,
        wall: Callable[[], float] = time.time,
        poll_s: float = 0.05,
        **kw: Any,
    ) -> None:
        super().__init__(issue, **kw)
        from ttsign.store.identities import RedisIdentities

        self.store = store
        self.shared: RedisIdentities = RedisIdentities(store.primary)
        self.wall = wall
        self.poll_s = poll_s
        self.lock_s = (self.timeout_s or 10.0) + 1.0  # a fetch is bounded by timeout_s: the lock outlives it
        self._known: dict[str, AnonIdentity] = {}  # shared identities seen here, one object each (ws_modes keys)
        self._shared_fetch: asyncio.Task[Any] | None = None
        self._last: Taken | None = None
        self._warned_outage = 0  # the store outage (its count) this pool last warned about
        self.local_acquires = 0
        self._burns: set[asyncio.Task[Any]] = set()

    async def _shared(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """`call()` against the store, or LOCAL when the store fails or is in an outage (no waiting then)."""
        return await self.store._call(call, lambda: LOCAL)  # the store's backoff, probe and recovery

    def _going_local(self) -> None:
        self.local_acquires += 1
        if self._warned_outage != self.store.outages:
            self._warned_outage = self.store.outages
            log.warning("identity_pool_local", reason=self.store.reason, fallback="this process's own identities")

    async def acquire(self, *, count_connect: bool = True) -> AnonIdentity:
        got = await self._acquire_shared(count_connect)
        if got is LOCAL:
            self._going_local()
            return await super().acquire(count_connect=count_connect)
        assert isinstance(got, AnonIdentity)
        return got

    def _take_call(self, *, count: bool) -> Callable[[], Awaitable[Taken]]:
        limit = self.connects_per_hour
        return lambda: self.shared.take(now=self.wall(), window_s=PACE_WINDOW_S, limit=limit, count=count)

    async def _acquire_shared(self, count_connect: bool) -> AnonIdentity | _Local:
        while True:
            taken = await self._shared(self._take_call(count=count_connect))
            if taken is LOCAL:
                return LOCAL
            self._last = taken
            if taken.id:
                return self._identity(taken, count_connect)
            if taken.identities >= self.max_identities:
                wait = 1.0 if taken.oldest is None else PACE_WINDOW_S - (self.wall() - taken.oldest)
                raise IdentityUnavailable(
                    f"every identity is at its pace limit of {self.connects_per_hour} connects per hour",
                    reason="pace",
                    retry_after_s=max(1.0, wait),
                )
            if await asyncio.shield(self._shared_fetch_task()) is LOCAL:
                return LOCAL
            # an identity was stored (here or by another instance): take it, atomically, like any other

    def _identity(self, taken: Taken, counted: bool) -> AnonIdentity:
        now = self._clock()
        for key in [k for k, i in self._known.items() if i.burned or now - i.created >= self.ttl_s]:
            del self._known[key]
        ident = self._known.get(taken.id)
        if ident is None or ident.ttwid != taken.cookies.get("ttwid"):
            created = now - max(0.0, self.wall() - taken.created)  # its age, on this pool's clock
            ident = AnonIdentity(
                dict(taken.cookies), created, ms_token=taken.cookies.get("msToken"), shared_id=taken.id
            )
            self._known[taken.id] = ident
        if counted:
            ident.connects.add(now)  # this process's view only; the store's log is what paces
        return ident

    def _shared_fetch_task(self) -> asyncio.Task[Any]:
        task = self._shared_fetch
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.create_task(self._fetch_shared(), name="ttsign-identity-fetch")
            task.add_done_callback(self._shared_fetch_done)
            self._shared_fetch = task
        return task

    def _shared_fetch_done(self, task: asyncio.Task[Any]) -> None:
        if self._shared_fetch is task:
            self._shared_fetch = None
        if not task.cancelled():
            task.exception()

    async def _fetch_shared(self) -> _Local | None:
        """Store one new identity, or see one another instance stored; LOCAL when the store fails meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_s + (self.timeout_s or 10.0)
        while True:
            token = uuid.uuid4().hex
            locked = await self._shared(functools.partial(self.shared.lock, token, self.lock_s))
            if locked is LOCAL:
                return LOCAL
            if locked:
                try:
                    return await self._fetch_locked()
                finally:
                    await self._shared(functools.partial(self.shared.unlock, token))
            while True:  # another instance is fetching: its identity appears in the store, or its lock goes
                if loop.time() >= deadline:
                    raise IdentityUnavailable("no identity appeared while another instance fetched one", reason=TIMEOUT)
                await asyncio.sleep(self.poll_s)
                taken = await self._shared(self._take_call(count=False))
                if taken is LOCAL:
                    return LOCAL
                if taken.id or taken.identities >= self.max_identities:
                    return None
                held = await self._shared(self.shared.locked)
                if held is LOCAL:
                    return LOCAL
                if not held:
                    break  # released without an identity we can use, or expired (its holder died): fetch ourselves

    async def _fetch_locked(self) -> _Local | None:
        taken = await self._shared(self._take_call(count=False))  # stored while we waited for the lock?
        if taken is LOCAL:
            return LOCAL
        if taken.id or taken.identities >= self.max_identities:
            return None  # one is free after all, or the pool is full: the caller takes (or hears `pace`)
        try:
            async with asyncio.timeout(self.timeout_s):
                cookies = dict(await self._issue())
        except TimeoutError:
            raise IdentityUnavailable(
                f"TikTok did not issue a ttwid within {self.timeout_s:g} s", reason=TIMEOUT
            ) from None
        created = self.wall()
        stored = await self._shared(
            lambda: self.shared.add(cookies, created=created, ttl_s=self.ttl_s, max_identities=self.max_identities)
        )
        if stored is LOCAL:  # fetched, but the store went away: the local pool keeps it
            self._items.append(AnonIdentity(cookies, self._clock(), ms_token=cookies.get("msToken")))
            return LOCAL
        return None

    def burn(self, ident: AnonIdentity) -> None:
        ident.burned = True
        if ident.shared_id is None:
            return
        self._known.pop(ident.shared_id, None)
        ident_id = ident.shared_id
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._shared(lambda: self.shared.burn(ident_id)), name="ttsign-identity-burn")
        self._burns.add(task)
        task.add_done_callback(self._burns.discard)

    def size(self) -> int:
        if self.store.degraded or self._last is None:
            return super().size()
        return self._last.identities

    def stats(self) -> dict[str, Any]:
        """As the local pool's, plus `store`: `shared` (the figures are the store's, as of the last take) or
        `local` (the store is unreachable: this process's own identities)."""
        local = super().stats()
        fetching = local["fetch_in_flight"] or (self._shared_fetch is not None and not self._shared_fetch.done())
        if self.store.degraded or self._last is None:
            return {**local, "store": "local" if self.store.degraded else "shared", "fetch_in_flight": fetching}
        return {
            **local,
            "store": "shared",
            "identities": self._last.identities,
            "connects_left": self._last.connects_left,
            "fetch_in_flight": fetching,
            "items": [],
        }

    async def close(self) -> None:
        task, self._shared_fetch = self._shared_fetch, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await asyncio.gather(*self._burns, return_exceptions=True)
        await super().close()
        await self.store.aclose()


def pool_for(settings: Settings, pool: IdentityPool) -> IdentityPool:
    """`pool` itself with the memory store; with `TTSIGN_STORE=redis://...`, a `SharedIdentityPool` with the
    same settings over its own connection to that store (its outages handled as the rate limits' are)."""
    from ttsign.store.redis import is_redis_url

    if not is_redis_url(settings.store):  # the memory store (anything else was refused at start-up)
        return pool
    from ttsign.store.factory import open_redis

    return SharedIdentityPool(
        pool._issue,
        store=open_redis(settings, events=_pool_events()),
        ttl_s=pool.ttl_s,
        connects_per_hour=pool.connects_per_hour,
        max_identities=pool.max_identities,
        timeout_s=pool.timeout_s,
        clock=pool._clock,
    )


_POOL_LOCAL: list[Any] = []


def _pool_events() -> Any:
    from prometheus_client import Counter

    from ttsign.server import metrics

    if not _POOL_LOCAL:
        _POOL_LOCAL.append(
            Counter(
                "ttsign_identity_pool_local",
                "Identity acquires answered by this process's own pool while the store failed",
                registry=metrics.REGISTRY,
            )
        )
    local = _POOL_LOCAL[0]

    class PoolEvents:
        """The shared pool's store events as metrics: acquires answered locally, and the store's errors."""

        def up(self, is_up: bool) -> None:
            return None

        def fallback(self) -> None:
            local.inc()

        def error(self, kind: str) -> None:
            metrics.STORE_ERRORS.labels(kind).inc()

    return PoolEvents()
