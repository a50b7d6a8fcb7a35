"""ttsign.tiktok.identity_pool (and the cookie helpers of ttsign.tiktok.http) against the offline TikTok.

The issuer talks real HTTP (curl_cffi) to the fake on 127.0.0.1; the pool runs on a fake clock so TTL and
pacing are tested without waiting. Tokens are checked with the fake's own HMAC: an identity is "real" when
the fake says it issued its ttwid / msToken (live-connect.md §2.1, DESIGN.md §1: never fabricate them).
"""

from __future__ import annotations

import pytest

from tests.fakes.tiktok import FakeTikTok
from tests.unit.conftest import closed_port_base
from ttsign.tiktok.http import Upstream, UpstreamResponse, parse_set_cookies
from ttsign.tiktok.identity_pool import AnonIdentity, IdentityPool, IdentityUnavailable, TtwidIssuer

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"


def closed_port_url(path: str = "/") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused, fast)."""
    return closed_port_base() + path


def issuer(up: Upstream, fake: FakeTikTok, **kw: str) -> TtwidIssuer:
    args = {"ttwid_url": fake.ttwid_url, "www": fake.base_url, "user_agent": UA, **kw}
    return TtwidIssuer(up, **args)


def paths(fake: FakeTikTok) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in fake.state()["requests"]]


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class CountingIssue:
    """Wraps the real issuer and counts how often the pool asked for a new identity."""

    def __init__(self, iss: TtwidIssuer) -> None:
        self.iss = iss
        self.issued: list[dict[str, str]] = []

    async def __call__(self) -> dict[str, str]:
        cookies = await self.iss.issue()
        self.issued.append(cookies)
        return cookies


# ---- parse_set_cookies ---------------------------------------------------------------------------


def test_parse_set_cookies_keeps_values_as_sent() -> None:
    got = parse_set_cookies(
        [
            "ttwid=1%7Cabc%7C1795600000%7Cdeadbeef; Path=/; Max-Age=31536000; HttpOnly",
            "tt_chain_token=AJ9wzyKLzXUj+uBrx2UGNA==; Path=/",
            'msToken="quoted"; Path=/',
            " spaced = value ; Path=/",
            "no-equals-sign; Path=/",
            "=orphan; Path=/",
        ]
    )
    assert got == {
        "ttwid": "1%7Cabc%7C1795600000%7Cdeadbeef",  # still URL-encoded, '|' not decoded
        "tt_chain_token": "AJ9wzyKLzXUj+uBrx2UGNA==",  # '=' inside the value survives
        "msToken": "quoted",
        "spaced": "value",
    }


# ---- TtwidIssuer ---------------------------------------------------------------------------------


async def test_issuer_gets_ttwid_from_union_register(fake: FakeTikTok, upstream: Upstream) -> None:
    cookies = await issuer(upstream, fake).issue()
    assert fake.ttwid_is_issued(cookies["ttwid"])
    assert cookies["tt_csrf_token"] and cookies["tt_chain_token"]
    assert "msToken" not in cookies  # register sends none, and none is made up
    assert paths(fake) == [("POST", "/ttwid/union/register/")]  # no /live fallback needed
    req = fake.state()["requests"][0]
    assert req["headers"]["user-agent"] == UA
    assert req["status"] == 200


async def test_issuer_falls_back_to_live_when_register_gives_no_cookie(fake: FakeTikTok, upstream: Upstream) -> None:
    cookies = await issuer(upstream, fake, ttwid_url=fake.base_url + "/no/such/register/").issue()
    assert fake.ttwid_is_issued(cookies["ttwid"])
    assert fake.ms_token_is_issued(cookies["msToken"])  # /live sends a real msToken; it is kept
    assert paths(fake) == [("POST", "/no/such/register/"), ("GET", "/live")]
    assert fake.state()["requests"][0]["status"] == 404


async def test_issuer_falls_back_to_live_when_register_is_unreachable(fake: FakeTikTok, upstream: Upstream) -> None:
    cookies = await issuer(upstream, fake, ttwid_url=closed_port_url("/ttwid/union/register/")).issue()
    assert fake.ttwid_is_issued(cookies["ttwid"])
    assert paths(fake) == [("GET", "/live")]


async def test_issuer_no_cookies_is_identity_unavailable(fake: FakeTikTok, upstream: Upstream) -> None:
    fake.configure(no_cookies=True)
    with pytest.raises(IdentityUnavailable) as exc:
        await issuer(upstream, fake).issue()
    assert exc.value.upstream_down is False  # TikTok answered; it just gave no ttwid
    assert "register" in str(exc.value) and "live_page" in str(exc.value)
    assert paths(fake) == [("POST", "/ttwid/union/register/"), ("GET", "/live")]


async def test_issuer_fake_down_is_upstream_down(fake: FakeTikTok, upstream: Upstream) -> None:
    fake.configure(down=503)
    with pytest.raises(IdentityUnavailable) as exc:
        await issuer(upstream, fake).issue()
    assert exc.value.upstream_down is True
    assert "503" in str(exc.value)


async def test_issuer_unreachable_is_upstream_down(upstream: Upstream) -> None:
    dead = closed_port_url()
    iss = TtwidIssuer(upstream, ttwid_url=dead + "ttwid/union/register/", www=dead, user_agent=UA)
    with pytest.raises(IdentityUnavailable) as exc:
        await iss.issue()
    assert exc.value.upstream_down is True


async def test_issuer_one_unreachable_other_without_cookie_is_not_down(fake: FakeTikTok, upstream: Upstream) -> None:
    """Register unreachable but /live answering (without cookies): TikTok is up, just not giving a ttwid."""
    fake.configure(no_cookies=True)
    with pytest.raises(IdentityUnavailable) as exc:
        await issuer(upstream, fake, ttwid_url=closed_port_url("/r/")).issue()
    assert exc.value.upstream_down is False


# ---- IdentityPool --------------------------------------------------------------------------------


async def test_pool_reuses_within_ttl_and_reissues_after(fake: FakeTikTok, upstream: Upstream) -> None:
    clock = Clock()
    issue = CountingIssue(issuer(upstream, fake))
    pool = IdentityPool(issue, ttl_s=7200, connects_per_hour=100, clock=clock)
    first = await pool.acquire()
    clock.t += 7199
    again = await pool.acquire()
    assert again is first and len(issue.issued) == 1
    clock.t += 1  # exactly the TTL: expired
    fresh = await pool.acquire()
    assert fresh is not first and fresh.ttwid != first.ttwid
    assert len(issue.issued) == 2 and pool.size() == 1  # the expired one was dropped
    assert fake.ttwid_is_issued(fresh.ttwid)


async def test_pool_paces_connects_per_identity(fake: FakeTikTok, upstream: Upstream) -> None:
    clock = Clock(0.0)
    issue = CountingIssue(issuer(upstream, fake))
    pool = IdentityPool(issue, ttl_s=7200, connects_per_hour=3, max_identities=2, clock=clock)
    got: list[AnonIdentity] = []
    for _ in range(6):
        got.append(await pool.acquire())
        clock.t += 10
    a, b = got[0], got[3]
    assert got[:3] == [a, a, a] and got[3:] == [b, b, b]  # the 4th connect in the hour goes elsewhere
    assert a is not b and a.ttwid != b.ttwid and len(issue.issued) == 2
    assert (len(a.connects), a.connects.oldest()) == (3, 0.0) and (len(b.connects), b.connects.oldest()) == (3, 30.0)

    # clock is 60: both identities full, the pool is at max_identities
    with pytest.raises(IdentityUnavailable) as exc:
        await pool.acquire()
    assert exc.value.retry_after_s == pytest.approx(3600 - 60)  # a's oldest connect (t=0) frees up first
    assert exc.value.upstream_down is False
    assert len(issue.issued) == 2  # refusing does not fetch a new ttwid

    clock.t = 3600.0  # a's connect at t=0 is now an hour old
    assert await pool.acquire() is a
    assert len(issue.issued) == 2


async def test_pool_retry_after_is_at_least_one_second(fake: FakeTikTok, upstream: Upstream) -> None:
    clock = Clock(0.0)
    pool = IdentityPool(issuer(upstream, fake).issue, connects_per_hour=1, max_identities=1, clock=clock)
    await pool.acquire()
    clock.t = 3599.5
    with pytest.raises(IdentityUnavailable) as exc:
        await pool.acquire()
    assert exc.value.retry_after_s == 1.0


async def test_pool_uncounted_acquire_does_not_use_up_the_pace(fake: FakeTikTok, upstream: Upstream) -> None:
    issue = CountingIssue(issuer(upstream, fake))
    pool = IdentityPool(issue, connects_per_hour=1, max_identities=1, clock=Clock())
    first = await pool.acquire(count_connect=False)
    for _ in range(5):
        assert await pool.acquire(count_connect=False) is first
    assert await pool.acquire() is first  # the one counted connect
    with pytest.raises(IdentityUnavailable):
        await pool.acquire()
    assert len(issue.issued) == 1


async def test_pool_burn_drops_the_identity(fake: FakeTikTok, upstream: Upstream) -> None:
    issue = CountingIssue(issuer(upstream, fake))
    pool = IdentityPool(issue, clock=Clock())
    first = await pool.acquire()
    pool.burn(first)
    second = await pool.acquire()
    assert second is not first and second.ttwid != first.ttwid
    assert pool.size() == 1 and len(issue.issued) == 2
    for _ in range(3):
        assert await pool.acquire() is second  # the burned one never comes back


async def test_pool_issue_failure_propagates(fake: FakeTikTok, upstream: Upstream) -> None:
    fake.configure(no_cookies=True)
    pool = IdentityPool(issuer(upstream, fake).issue, clock=Clock())
    with pytest.raises(IdentityUnavailable):
        await pool.acquire()
    assert pool.size() == 0
    fake.reset()
    assert fake.ttwid_is_issued((await pool.acquire()).ttwid)  # and recovers once TikTok gives cookies


# ---- AnonIdentity: cookies and msToken -----------------------------------------------------------


def test_cookie_pairs_puts_ttwid_first_and_leaves_out_mstoken() -> None:
    ident = AnonIdentity(
        {"tt_csrf_token": "csrf", "msToken": "real-ms", "tt_chain_token": "chain", "ttwid": "1%7Cttwid"}, 0.0
    )
    assert ident.cookie_pairs() == [("ttwid", "1%7Cttwid"), ("tt_csrf_token", "csrf"), ("tt_chain_token", "chain")]


async def test_cookie_pairs_of_an_issued_identity(fake: FakeTikTok, upstream: Upstream) -> None:
    iss = issuer(upstream, fake, ttwid_url=fake.base_url + "/404/")  # via /live: all cookies plus an msToken
    ident = await IdentityPool(iss.issue, clock=Clock()).acquire()
    pairs = ident.cookie_pairs()
    assert pairs[0] == ("ttwid", ident.ttwid) and fake.ttwid_is_issued(pairs[0][1])
    assert {k for k, _ in pairs} == {"ttwid", "tt_csrf_token", "tt_chain_token"}
    assert fake.ms_token_is_issued(ident.ms_token or "")


async def test_identity_without_mstoken_has_none(fake: FakeTikTok, upstream: Upstream) -> None:
    ident = await IdentityPool(issuer(upstream, fake).issue, clock=Clock()).acquire()  # via register
    assert ident.ms_token is None
    assert "msToken" not in ident.cookies
    ident.observe(UpstreamResponse(200, {"content-type": "text/html"}, {}, b"<html></html>"))
    assert ident.ms_token is None  # a response without one does not conjure one


async def test_observe_keeps_a_real_mstoken_from_tiktok(fake: FakeTikTok, upstream: Upstream) -> None:
    ident = await IdentityPool(issuer(upstream, fake).issue, clock=Clock()).acquire()
    resp = await upstream.get(
        fake.base_url + "/api-live/user/room/", params={"uniqueId": "fakeuser", "sourceType": "54"}
    )
    ident.observe(resp)
    assert ident.ms_token == resp.headers["x-ms-token"]
    assert fake.ms_token_is_issued(ident.ms_token)


def _resp(headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None) -> UpstreamResponse:
    return UpstreamResponse(200, headers or {}, cookies or {}, b"")


@pytest.mark.parametrize(
    ("headers", "cookies", "expected"),
    [
        ({"x-ms-token": "from-header"}, {}, "from-header"),
        ({}, {"msToken": "from-cookie"}, "from-cookie"),
        ({"x-ms-token": "from-header"}, {"msToken": "from-cookie"}, "from-header"),
        ({}, {"msToken": ""}, "old"),  # an empty cookie does not wipe a real token
        ({}, {}, "old"),
    ],
)
def test_observe_mstoken_sources(headers: dict[str, str], cookies: dict[str, str], expected: str) -> None:
    ident = AnonIdentity({"ttwid": "t"}, 0.0, ms_token="old")
    ident.observe(_resp(headers, cookies))
    assert ident.ms_token == expected


def test_observe_refreshes_rotated_identity_cookies_only() -> None:
    ident = AnonIdentity({"ttwid": "old-ttwid", "tt_csrf_token": "old-csrf"}, 0.0)
    cookies = {
        "ttwid": "new-ttwid",
        "tt_chain_token": "chain",
        "sessionid": "not-ours",
        "tt_csrf_token": "",
    }
    ident.observe(_resp(cookies=cookies))
    assert ident.cookies == {"ttwid": "new-ttwid", "tt_csrf_token": "old-csrf", "tt_chain_token": "chain"}
    assert ident.cookie_pairs()[0] == ("ttwid", "new-ttwid")


async def test_issuer_sends_no_cookies_from_earlier_identities(fake: FakeTikTok, upstream: Upstream) -> None:
    """A burned identity must not ride along when the next one is fetched (one shared HTTP session)."""
    iss = issuer(upstream, fake, ttwid_url=fake.base_url + "/404/")  # /live sets ttwid, msToken, ... on 127.0.0.1
    pool = IdentityPool(iss.issue, clock=Clock())
    first = await pool.acquire()
    pool.burn(first)
    second = await pool.acquire()
    assert second.ttwid != first.ttwid
    sent = [(r["path"], r["headers"].get("cookie")) for r in fake.state()["requests"]]
    assert sent == [("/404/", None), ("/live", None)] * 2  # "GET /live with no cookies" (live-connect.md §2.1)


def test_connect_log_memory_is_bounded_however_many_connects() -> None:
    """Pacing off (a huge per-hour limit) must not make an identity grow by a record per connect."""
    import sys

    from ttsign.tiktok.identity_pool import ConnectLog

    log = ConnectLog()
    for i in range(200_000):  # ~55 h of connects at one a second, far more than a minute-bucket's worth
        log.add(i * 1.0)
        log.prune(i * 1.0)
    assert len(log._buckets) <= ConnectLog.EXACT + 61
    assert sys.getsizeof(log._buckets) < 4_000
    assert 3600 <= len(log) <= 3660  # the last hour's connects, merged ones up to a minute longer


def test_connect_log_never_frees_a_connect_early() -> None:
    from ttsign.tiktok.identity_pool import ConnectLog

    log = ConnectLog()
    for i in range(ConnectLog.EXACT):  # fill the exact part, so later connects merge by minute
        log.add(-7200.0 + i)
    log.prune(0.0)
    assert len(log) == 0
    for i in range(ConnectLog.EXACT):
        log.add(-3500.0 + i / 100)
    log.add(0.0)
    log.add(59.0)  # the log is long: same minute, merged into one entry
    log.prune(200.0)  # the 64 older connects expire; the merged entry stays
    assert len(log) == 2
    log.prune(3658.9)  # the connect at t=0 is over an hour old, but its entry's latest is not
    assert len(log) == 2  # counted a little longer, never shorter
    log.prune(3659.0)
    assert len(log) == 0 and log.oldest() is None


def test_connect_log_is_exact_while_short() -> None:
    from ttsign.tiktok.identity_pool import ConnectLog

    log = ConnectLog()
    log.add(0.0)
    log.add(30.0)
    log.prune(3600.0)
    assert len(log) == 1 and log.oldest() == 30.0
