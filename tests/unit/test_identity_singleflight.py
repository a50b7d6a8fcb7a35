"""IdentityPool fetches single-flight (issue 7, defect 5): one fetch shared by every waiter, bounded in time.

The issue functions here are plain coroutines, so the pool's concurrency is tested without any HTTP; the
issuer's mapping of TikTok's 429 (with its Retry-After) runs against the hostile proxy in front of the fake.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import pytest

from tests.fakes.hostile import HostileProxy
from tests.fakes.tiktok import FakeTikTok
from ttsign.tiktok.http import Upstream
from ttsign.tiktok.identity_pool import IdentityPool, IdentityUnavailable, TtwidIssuer

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"


class Issue:
    """A controllable issuer: counts calls; each call waits for `release` (if set), then fails or succeeds."""

    def __init__(self, *, fail: bool = False, hang: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self.hang = hang
        self.release = asyncio.Event()
        self.cancelled = 0

    async def __call__(self) -> dict[str, str]:
        self.calls += 1
        n = self.calls
        try:
            if self.hang:
                await asyncio.Event().wait()  # never set
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.fail:
            raise IdentityUnavailable(f"fetch {n} failed")
        return {"ttwid": f"1%7Cttwid-{n}"}


async def gather_acquires(pool: IdentityPool, n: int) -> list[Any]:
    return await asyncio.gather(*(pool.acquire() for _ in range(n)), return_exceptions=True)


async def test_concurrent_waiters_share_one_failing_fetch() -> None:
    """Five callers, one fetch, one failure delivered to all five (the old lock made five fetches in a row)."""
    issue = Issue(fail=True)
    pool = IdentityPool(issue)
    waiters = asyncio.gather(*(pool.acquire() for _ in range(5)), return_exceptions=True)
    await asyncio.sleep(0.01)
    issue.release.set()
    results = await waiters
    assert issue.calls == 1
    assert all(isinstance(r, IdentityUnavailable) and str(r) == "fetch 1 failed" for r in results), results
    assert pool.size() == 0


async def test_after_a_failure_the_next_caller_starts_a_fresh_fetch() -> None:
    issue = Issue(fail=True)
    issue.release.set()
    pool = IdentityPool(issue)
    with pytest.raises(IdentityUnavailable):
        await pool.acquire()
    issue.fail = False
    ident = await pool.acquire()
    assert issue.calls == 2 and ident.ttwid == "1%7Cttwid-2"


async def test_concurrent_waiters_share_one_successful_fetch() -> None:
    issue = Issue()
    pool = IdentityPool(issue)
    waiters = asyncio.gather(*(pool.acquire() for _ in range(5)))
    await asyncio.sleep(0.01)
    issue.release.set()
    idents = await waiters
    assert issue.calls == 1 and pool.size() == 1
    assert {id(i) for i in idents} == {id(idents[0])}
    assert len(idents[0].connects) == 5  # each waiter counted its connect


async def test_a_hanging_fetch_bounds_every_waiter() -> None:
    """TikTok never answers: every waiter, early or late, gets `timeout` by the fetch's bound, one fetch in all."""
    issue = Issue(hang=True)
    pool = IdentityPool(issue, timeout_s=0.3)
    started = time.monotonic()

    async def late(delay: float) -> float:
        await asyncio.sleep(delay)
        with pytest.raises(IdentityUnavailable) as exc:
            await pool.acquire()
        assert exc.value.reason == "timeout" and exc.value.upstream_down
        return time.monotonic() - started

    waits = await asyncio.gather(*(late(d) for d in (0.0, 0.0, 0.05, 0.1, 0.2)))
    assert issue.calls == 1 and issue.cancelled == 1  # the one fetch, stopped by its bound
    assert max(waits) < 0.3 + 0.25, waits  # nobody waits past the bound (the old pool: 5 fetches in a row)


async def test_a_waiter_giving_up_does_not_cancel_the_shared_fetch() -> None:
    issue = Issue()
    pool = IdentityPool(issue)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pool.acquire(), 0.05)  # a caller whose own deadline passed
    assert issue.cancelled == 0
    other = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.01)
    issue.release.set()
    ident = await other
    assert issue.calls == 1 and ident.ttwid == "1%7Cttwid-1"


async def test_waiters_beyond_an_identitys_pace_grow_the_pool() -> None:
    issue = Issue()
    issue.release.set()
    pool = IdentityPool(issue, connects_per_hour=2, max_identities=8)
    idents = await gather_acquires(pool, 5)
    assert issue.calls == 3 and pool.size() == 3  # 2 + 2 + 1
    assert sorted(len(i.connects) for i in {id(i): i for i in idents}.values()) == [1, 2, 2]


async def test_pace_limit_with_a_full_pool_is_not_a_fetch() -> None:
    issue = Issue()
    issue.release.set()
    pool = IdentityPool(issue, connects_per_hour=1, max_identities=1)
    await pool.acquire()
    results = await gather_acquires(pool, 3)
    assert issue.calls == 1
    assert all(isinstance(r, IdentityUnavailable) and r.reason == "pace" and r.retry_after_s > 3000 for r in results)


async def test_a_fetch_every_waiter_abandoned_logs_no_unretrieved_exception() -> None:
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: seen.append(ctx))
    try:
        issue = Issue(fail=True)
        pool = IdentityPool(issue)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.acquire(), 0.02)
        issue.release.set()
        await asyncio.sleep(0.02)  # the fetch fails with nobody waiting
        gc.collect()
        assert issue.calls == 1 and pool._inflight is None
    finally:
        loop.set_exception_handler(None)
    assert not [c for c in seen if "never retrieved" in str(c.get("message", ""))], seen


async def test_close_cancels_the_fetch_in_flight() -> None:
    issue = Issue(hang=True)
    pool = IdentityPool(issue)
    waiter = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.01)
    await pool.close()
    assert issue.cancelled == 1
    with pytest.raises(asyncio.CancelledError):
        await waiter


# ---- TikTok's 429 on the ttwid endpoints (with the hostile proxy) --------------------------------


def issuer_via(up: Upstream, proxy: HostileProxy) -> TtwidIssuer:
    return TtwidIssuer(up, ttwid_url=proxy.ttwid_url, www=proxy.base_url, user_agent=UA)


async def test_issuer_429_on_both_endpoints_is_rate_limited_with_tiktoks_wait(
    proxy: HostileProxy, upstream: Upstream
) -> None:
    proxy.add("/ttwid/*", "status", status=429, headers={"Retry-After": "42"})
    proxy.add("/live", "status", status=429, headers={"Retry-After": "7"})
    with pytest.raises(IdentityUnavailable) as exc:
        await issuer_via(upstream, proxy).issue()
    assert exc.value.reason == "rate_limited" and exc.value.retry_after_s == 42.0
    assert not exc.value.upstream_down
    assert proxy.base_url.split("//")[1] not in str(exc.value)


async def test_issuer_429_on_register_falls_back_to_live(proxy: HostileProxy, upstream: Upstream) -> None:
    proxy.add("/ttwid/*", "status", status=429, headers={"Retry-After": "42"})
    cookies = await issuer_via(upstream, proxy).issue()
    assert cookies["ttwid"]


async def test_issuer_hang_then_pool_bound_is_a_timeout(proxy: HostileProxy, fake: FakeTikTok) -> None:
    proxy.add("/ttwid/*", "hang")
    proxy.add("/live", "hang")
    up = Upstream(timeout_s=5.0)  # the HTTP timeout alone would let a waiter sit for 2 x 5 s
    try:
        pool = IdentityPool(issuer_via(up, proxy).issue, timeout_s=0.4)
        started = time.monotonic()
        with pytest.raises(IdentityUnavailable) as exc:
            await pool.acquire()
        assert exc.value.reason == "timeout"
        assert time.monotonic() - started < 0.4 + 0.4
    finally:
        await up.close()
