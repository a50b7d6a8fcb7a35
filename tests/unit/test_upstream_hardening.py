"""`Upstream` against a hostile TikTok (tests/fakes/hostile.py in front of the fake): issue 7, defects 2, 4, 14.

Redirects are followed only to the configured hosts and only a few times; decoded bodies are capped while
they arrive (a gzip bomb costs a few MiB, not hundreds); every hop shares one deadline; `Retry-After` is
parsed; and no error message carries an address or anything the upstream sent.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import psutil
import pytest

from tests.fakes.hostile import MARKER, HostileProxy, gzip_zeros
from tests.fakes.tiktok import FakeTikTok
from tests.unit.conftest import closed_port_base
from ttsign.config import Settings
from ttsign.tiktok.client import TikTokClient
from ttsign.tiktok.http import (
    Upstream,
    UpstreamError,
    host_allowed,
    parse_retry_after,
    redirect_hosts,
    redirect_target,
)

TIMEOUT = 0.5
MARGIN = 0.5  # what a caller may wait past the timeout
MiB = 1024 * 1024


@pytest.fixture
async def up(proxy: HostileProxy) -> AsyncIterator[Upstream]:
    u = Upstream(
        timeout_s=TIMEOUT,
        redirect_hosts=redirect_hosts(proxy.base_url),
        names={proxy.base_url: "TikTok www", proxy.webcast_url: "TikTok webcast"},
    )
    yield u
    await u.close()


def assert_clean(exc: UpstreamError, proxy: HostileProxy, *, name: str = "TikTok www") -> None:
    """The message names the upstream and holds no address, port, URL or upstream text."""
    text = str(exc)
    assert text.startswith(name), text
    for leak in ("127.0.0.1", "http", MARKER, "curl"):
        assert leak not in text, text
    for port in (proxy.port, proxy.decoy_port):  # as a number of its own: port 41943 is inside "4194304 bytes"
        assert not re.search(rf"(?<![0-9]){port}(?![0-9])", text), text


async def fails(coro: Any) -> UpstreamError:
    with pytest.raises(UpstreamError) as info:
        await coro
    return info.value


def fake_paths(fake: FakeTikTok) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in fake.state()["requests"]]


# ---- redirects (defect 2) -------------------------------------------------------------------------


async def test_redirect_within_the_configured_host_is_followed(
    up: Upstream, proxy: HostileProxy, fake: FakeTikTok
) -> None:
    proxy.add("/live", "redirect", location="{proxy}/explore", times=1)
    proxy.add("/explore", "redirect", status=301, location="/", times=1)  # relative
    r = await up.get(proxy.base_url + "/live")
    assert r.status == 200 and r.set_cookies.get("ttwid")
    assert fake_paths(fake) == [("GET", "/")]


@pytest.mark.parametrize(
    "location",
    [
        "{decoy}/internal",  # loopback, another port
        "{upstream}{path_qs}",  # loopback, the real fake behind the proxy (an answer that would look right)
        "http://127.0.0.2:{port}/internal",  # same port, another loopback address
        "http://localhost:{port}/internal",
        "http://[::1]:{port}/internal",
        "http://evil.example/internal",
        "//evil.example/internal",  # scheme-relative
        "http://127.0.0.1:{port}@evil.example/",  # userinfo: the host is evil.example
        "http://user:pw@127.0.0.1:{port}/live",  # userinfo on an allowed host is refused too
        "http://evil.example\\.127.0.0.1:{port}/",  # a browser reads the host as evil.example
        "file:///etc/passwd",
        "ftp://127.0.0.1:{port}/",
        "http://[::1",  # unparseable
    ],
)
async def test_redirect_outside_the_configured_hosts_is_refused(
    up: Upstream, proxy: HostileProxy, fake: FakeTikTok, location: str
) -> None:
    proxy.add("*", "redirect", location=location.replace("{port}", str(proxy.port)))
    exc = await fails(up.get(proxy.base_url + "/live"))
    assert exc.kind == "redirect" and exc.status == 0
    assert_clean(exc, proxy)
    assert proxy.decoy_hits == [] and fake_paths(fake) == []
    assert len(proxy.hits) == 1  # nothing was fetched after the refused hop


async def test_307_reposts_only_to_allowed_hosts(up: Upstream, proxy: HostileProxy, fake: FakeTikTok) -> None:
    """The ttwid reproduction: a 307 to another host made ttsign re-POST and adopt a foreign ttwid."""
    proxy.add("/ttwid/union/register/", "redirect", status=307, location="{decoy}/ttwid/union/register/")
    exc = await fails(up.post(proxy.ttwid_url, json_body={"aid": 1768}))
    assert exc.kind == "redirect" and proxy.decoy_hits == []
    assert_clean(exc, proxy)

    proxy.clear()
    proxy.add("/ttwid/check/", "redirect", status=307, location="/ttwid/union/register/")
    r = await up.post(proxy.base_url + "/ttwid/check/", json_body={"aid": 1768})
    assert r.status == 200 and r.set_cookies.get("ttwid")
    assert fake_paths(fake) == [("POST", "/ttwid/union/register/")]  # the body went along (aid 1768 accepted)


@pytest.mark.parametrize("status", [301, 302, 303])
async def test_301_302_303_turn_a_post_into_a_get(
    up: Upstream, proxy: HostileProxy, fake: FakeTikTok, status: int
) -> None:
    proxy.add("/ttwid/union/register/", "redirect", status=status, location="/live")
    r = await up.post(proxy.ttwid_url, json_body={"aid": 1768})
    assert r.status == 200
    assert fake_paths(fake) == [("GET", "/live")]
    assert "content-type" not in fake.state()["requests"][0]["headers"]


async def test_cookies_stay_on_the_host_that_was_asked(proxy: HostileProxy, fake: FakeTikTok) -> None:
    u = Upstream(timeout_s=TIMEOUT, redirect_hosts=redirect_hosts(proxy.base_url, fake.base_url))
    try:
        proxy.add("/live", "redirect", location="/explore", times=1)
        await u.get(proxy.base_url + "/live", cookies={"ttwid": "abc"})
        proxy.add("/live", "redirect", location="{upstream}/explore", times=1)
        await u.get(proxy.base_url + "/live", cookies={"ttwid": "abc"})
    finally:
        await u.close()
    same_host, other_host = fake.state()["requests"]
    assert same_host["cookies"] == {"ttwid": "abc"}
    assert other_host["cookies"] == {}


async def test_redirect_loop_is_an_error(up: Upstream, proxy: HostileProxy, fake: FakeTikTok) -> None:
    proxy.add("*", "redirect_loop")
    exc = await fails(up.get(proxy.base_url + "/live", params={"a": "1"}))
    assert exc.kind == "redirect" and "loop" in str(exc)
    assert_clean(exc, proxy)
    assert len(proxy.hits) == 1  # the answer pointed back at itself: not asked again


@pytest.mark.parametrize(("hops", "ok"), [(3, True), (4, False)])
async def test_at_most_max_redirects_hops(up: Upstream, proxy: HostileProxy, hops: int, ok: bool) -> None:
    for i in range(hops):
        proxy.add(f"/hop{i}", "redirect", location=f"/hop{i + 1}" if i + 1 < hops else "/live")
    if ok:
        assert (await up.get(proxy.base_url + "/hop0")).status == 200
    else:
        exc = await fails(up.get(proxy.base_url + "/hop0"))
        assert exc.kind == "redirect" and "more than 3" in str(exc)
        assert len(proxy.hits) == 4


async def test_no_redirect_hosts_means_the_request_host_only(proxy: HostileProxy, fake: FakeTikTok) -> None:
    u = Upstream(timeout_s=TIMEOUT, max_redirects=0)
    try:
        proxy.add("/live", "redirect", location="/explore")
        exc = await fails(u.get(proxy.base_url + "/live"))
        assert exc.kind == "redirect"
    finally:
        await u.close()
    u = Upstream(timeout_s=TIMEOUT)
    try:
        assert (await u.get(proxy.base_url + "/live")).status == 200  # same host: followed
        proxy.clear()
        proxy.add("/live", "redirect", location="{decoy}/x")
        assert (await fails(u.get(proxy.base_url + "/live"))).kind == "redirect"
    finally:
        await u.close()


async def test_hops_share_one_deadline(up: Upstream, proxy: HostileProxy) -> None:
    proxy.add("/live", "redirect", location="/explore", before_s=0.3)
    proxy.add("/explore", "delay", delay_s=0.3)
    t0 = time.monotonic()
    exc = await fails(up.get(proxy.base_url + "/live"))
    assert exc.kind == "timeout" and time.monotonic() - t0 < TIMEOUT + MARGIN
    assert_clean(exc, proxy)


async def test_two_step_loop_is_an_error(up: Upstream, proxy: HostileProxy) -> None:
    proxy.add("/a", "redirect", location="/b")
    proxy.add("/b", "redirect", status=307, location="/a")
    exc = await fails(up.get(proxy.base_url + "/a"))
    assert exc.kind == "redirect" and "loop" in str(exc) and len(proxy.hits) == 2


REAL = frozenset({".tiktok.com", ".bytedance.com"})


@pytest.mark.parametrize(
    ("location", "origin", "expected"),
    [
        ("/live#frag", "https://www.tiktok.com/x", "https://www.tiktok.com/live"),
        ("https://webcast.tiktok.com/webcast/", "https://www.tiktok.com/", "https://webcast.tiktok.com/webcast/"),
        ("https://ttwid.bytedance.com/x", "https://www.tiktok.com/", "https://ttwid.bytedance.com/x"),
        ("HTTPS://WWW.TIKTOK.COM:443/a", "https://www.tiktok.com/", "https://www.tiktok.com/a"),
        ("http://www.tiktok.com/", "https://www.tiktok.com/", None),  # no downgrade
        ("https://evil.com\\.tiktok.com/", "https://www.tiktok.com/", None),  # WHATWG host: evil.com
        ("https://www.tiktok.com.evil.com/", "https://www.tiktok.com/", None),
        ("https://www.tiktok.com@evil.com/", "https://www.tiktok.com/", None),
        ("https://%65vil.com/", "https://www.tiktok.com/", None),
        ("https://xn--tiktk-rta.com/", "https://www.tiktok.com/", None),
        ("https://tiktök.com/", "https://www.tiktok.com/", None),
        ("https://127.0.0.1/", "https://www.tiktok.com/", None),
        ("https://0x7f000001/", "https://www.tiktok.com/", None),
        ("javascript:alert(1)", "https://www.tiktok.com/", None),
        ("https://www.tiktok.com:8443/", "https://www.tiktok.com/", None),
        ("https://www.tiktok.com/", "not a url", None),
    ],
)
def test_redirect_target_for_the_real_bases(location: str, origin: str, expected: str | None) -> None:
    assert redirect_target(location, origin, REAL) == expected


def test_redirect_hosts_of_the_real_bases() -> None:
    s = Settings()
    assert redirect_hosts(s.tiktok_www, s.ttwid_url, s.webcast_url, s.ws_url) == {".tiktok.com", ".bytedance.com"}
    assert redirect_hosts("http://127.0.0.1:8999/webcast", "ws://localhost:81/x", "https://a.b.example:8443/") == {
        "127.0.0.1:8999",
        "localhost:81",
        "a.b.example:8443",
    }


@pytest.mark.parametrize(
    ("host", "port", "ok"),
    [
        ("www.tiktok.com", 443, True),
        ("tiktok.com", 80, True),
        ("webcast16-normal-c-useast1a.tiktok.com", 443, True),
        ("ttwid.bytedance.com", 443, True),
        ("WWW.TikTok.com", 443, True),
        ("www.tiktok.com", 8443, False),
        ("eviltiktok.com", 443, False),
        ("tiktok.com.evil.example", 443, False),
        ("127.0.0.1", 443, False),
        ("localhost", 80, False),
    ],
)
def test_host_allowed_for_the_real_bases(host: str, port: int, ok: bool) -> None:
    assert host_allowed(REAL, host, port) is ok


def test_client_wires_the_settings_into_upstream(proxy: HostileProxy) -> None:
    s = Settings(
        tiktok_www=proxy.base_url,
        ttwid_url=proxy.ttwid_url,
        webcast_url=proxy.webcast_url,
        ws_url=f"ws://127.0.0.1:{proxy.port}/ws",
        upstream_max_bytes=12345,
        upstream_max_redirects=2,
    )
    up = TikTokClient(s).upstream
    assert up.redirect_hosts == {f"127.0.0.1:{proxy.port}"}
    assert (up.max_bytes, up.max_redirects) == (12345, 2)
    assert up.name_of(proxy.webcast_url + "/im/fetch/") == "TikTok webcast"
    assert up.name_of(proxy.ttwid_url) == "TikTok ttwid"
    assert up.name_of(proxy.base_url + "/live") == "TikTok www"
    assert up.name_of("https://elsewhere.example/") == "TikTok"


# ---- body cap (defect 4) --------------------------------------------------------------------------


def rss() -> int:
    return psutil.Process().memory_info().rss


async def test_gzip_bomb_is_aborted_with_little_memory(up: Upstream, proxy: HostileProxy) -> None:
    gzip_zeros(256 * MiB)  # the proxy's copy, made before measuring
    proxy.add("*", "gzip_bomb")
    before = rss()
    t0 = time.monotonic()
    results = await asyncio.gather(*(up.get(proxy.base_url + "/live") for _ in range(4)), return_exceptions=True)
    grown = (rss() - before) / MiB
    assert all(isinstance(e, UpstreamError) and e.kind == "too_large" for e in results), results
    assert grown < 40, f"RSS grew {grown:.0f} MiB for 4 gzip bombs at once"
    assert time.monotonic() - t0 < TIMEOUT
    assert_clean(results[0], proxy)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [64 * MiB, 4 * MiB + 1])
async def test_huge_body_is_aborted(up: Upstream, proxy: HostileProxy, size: int) -> None:
    proxy.add("*", "huge", size=size)
    exc = await fails(up.get(proxy.base_url + "/live"))
    assert exc.kind == "too_large" and exc.status == 0
    assert_clean(exc, proxy)


async def test_body_at_the_cap_is_kept(proxy: HostileProxy) -> None:
    u = Upstream(timeout_s=TIMEOUT, max_bytes=100_000)
    try:
        proxy.add("/a", "huge", size=100_000)
        proxy.add("/b", "huge", size=100_001)
        assert len((await u.get(proxy.base_url + "/a")).body) == 100_000
        assert (await fails(u.get(proxy.base_url + "/b"))).kind == "too_large"
    finally:
        await u.close()


# ---- faults: every one an UpstreamError with a clean message, within the deadline ---------------


@pytest.mark.parametrize(
    ("action", "kw", "kind"),
    [
        ("hang", {}, "timeout"),
        ("drip", {"delay_s": 0.05}, "timeout"),
        ("delay", {"delay_s": 3.0}, "timeout"),
        ("reset", {}, "unreachable"),
        ("reset", {"after_bytes": 200}, "unreachable"),
        ("short_body", {}, "unreachable"),
        ("raw_garbage", {}, "unreachable"),
    ],
)
async def test_faults_are_upstream_errors(
    up: Upstream, proxy: HostileProxy, action: str, kw: dict[str, Any], kind: str
) -> None:
    proxy.add("/webcast/*", action, **kw)
    t0 = time.monotonic()
    exc = await fails(up.get(proxy.webcast_url + "/room/info/", params={"room_id": "1"}))
    assert exc.kind == kind, str(exc)
    assert time.monotonic() - t0 < TIMEOUT + MARGIN
    assert_clean(exc, proxy, name="TikTok webcast")


async def test_a_short_delay_is_fine(up: Upstream, proxy: HostileProxy) -> None:
    proxy.add("*", "delay", delay_s=0.2)
    assert (await up.get(proxy.base_url + "/live")).status == 200


@pytest.mark.parametrize(
    ("action", "kw", "ctype"),
    [
        ("garbage", {"size": 5000}, "application/json"),
        ("html", {}, "text/html"),
        ("truncate", {"fraction": 0.5}, "application/protobuf"),
    ],
)
async def test_bad_bodies_come_back_as_answers(
    up: Upstream, proxy: HostileProxy, fake: FakeTikTok, action: str, kw: dict[str, Any], ctype: str
) -> None:
    """Garbage that is valid HTTP is an answer: the callers (rooms, relay) judge the bytes."""
    proxy.add("/webcast/im/fetch/*", action, **kw)
    r = await up.get(proxy.webcast_url + "/im/fetch/", params={"room_id": "7451234567890123456"})
    assert r.status == 200 and r.headers["content-type"].startswith(ctype)
    assert len(r.body) < 10_000


async def test_unreachable_and_timeout_by_exception_type(up: Upstream) -> None:
    """A refused connection to a host named 'timeout' is 'unreachable' (the kind is not guessed from text)."""
    port = closed_port_base().rsplit(":", 1)[1]
    exc = await fails(up.get(f"http://timeout.localhost:{port}/timed-out"))
    assert exc.kind == "unreachable" and "connection refused" in str(exc)
    assert port not in str(exc) and "localhost" not in str(exc)


# ---- Retry-After (defect 14) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("99999999999999", 3600.0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("Sun Nov  6 08:49:37 1994", None),  # asctime form, no zone: not trusted
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    value = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(value, now=now.timestamp()) == 90.0


@pytest.mark.parametrize(("status", "header", "wait"), [(429, "42", 42.0), (503, "HTTP-DATE", 30.0)])
async def test_retry_after_is_exposed(up: Upstream, proxy: HostileProxy, status: int, header: str, wait: float) -> None:
    if header == "HTTP-DATE":
        header = format_datetime(datetime.now(UTC) + timedelta(seconds=31), usegmt=True)
    proxy.add("*", "status", status=status, headers={"Retry-After": header})
    r = await up.get(proxy.webcast_url + "/room/info/")
    assert r.status == status
    assert r.retry_after_s is not None and abs(r.retry_after_s - wait) <= 1.5
    err = r.error("TikTok webcast")
    assert (err.kind, err.status) == ("status", status)
    assert err.retry_after_s is not None and abs(err.retry_after_s - wait) <= 1.5
    assert str(err) == f"TikTok webcast answered HTTP {status}"
