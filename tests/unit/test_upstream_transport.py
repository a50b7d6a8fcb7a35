"""`Upstream`'s seam (issue 14): the wire is an injected `Transport`, so tests need no subclass of the client.

Through a `MockTransport` (tests/fakes/transport.py): what a hop sends (params, headers, compact JSON),
the redirect policy and the shared deadline as the real client applies them, transport failures mapped to
`UpstreamError` kinds, what `Upstream.observed` records per base (last outcome, circuit), and the debug
line each call logs (no query, cookie or msToken value).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest

from tests.fakes.transport import MockTransport, SentRequest, answer, canned
from ttsign.config import Settings
from ttsign.server import logs
from ttsign.tiktok.http import (
    CIRCUIT_OPEN_AFTER,
    CurlTransport,
    TransportError,
    TransportResponse,
    Upstream,
    UpstreamError,
    redirect_hosts,
)

WWW = "https://www.tiktok.com"
WEBCAST = "https://webcast.tiktok.com/webcast"
TTWID = "https://ttwid.bytedance.com/ttwid/union/register/"
NAMES = {WWW: "TikTok www", WEBCAST: "TikTok webcast", TTWID: "TikTok ttwid"}


def upstream(transport: Any, **kw: Any) -> Upstream:
    return Upstream(timeout_s=2.0, redirect_hosts=redirect_hosts(*NAMES), names=NAMES, transport=transport, **kw)


def test_the_default_transport_is_curl_and_from_settings_takes_another() -> None:
    assert isinstance(Upstream().transport, CurlTransport)
    mock = MockTransport(lambda req: answer())
    up = Upstream.from_settings(Settings(), transport=mock)
    assert up.transport is mock and up.max_redirects == Settings().upstream_max_redirects
    assert set(up.observed) == {"www", "webcast", "ttwid", "webcast_socket"}


async def test_a_hop_reaches_the_transport_as_sent() -> None:
    mock = MockTransport(lambda req: answer(200, {"ok": 1}, {"Set-Cookie": "x"}, set_cookies=["ttwid=abc; Path=/"]))
    up = upstream(mock)
    r = await up.post(TTWID, json_body={"aid": 1768, "b": [1, 2]}, headers={"User-Agent": "UA"}, cookies={"c": "d"})
    (sent,) = mock.sent
    assert (sent.method, sent.url) == ("POST", TTWID)
    assert sent.body == b'{"aid":1768,"b":[1,2]}'  # compact, as curl_cffi's json= sent it
    assert sent.headers == {"User-Agent": "UA", "Cookie": "c=d", "Content-Type": "application/json"}
    assert sent.max_bytes == up.max_bytes and 0 < sent.timeout_s <= 2.0
    assert r.status == 200 and r.json() == {"ok": 1} and r.set_cookies == {"ttwid": "abc"}
    await up.get(WWW + "/api/x/", params={"a": "1"})
    assert mock.sent[1].params == {"a": "1"} and mock.sent[1].body is None
    await up.close()
    assert mock.closed


async def test_redirects_follow_the_policy_through_the_transport() -> None:
    def handler(req: SentRequest) -> TransportResponse:
        if req.url == WWW + "/a":
            return answer(303, b"", {"Location": "https://m.tiktok.com/b"}, url=req.url)
        if req.url == "https://m.tiktok.com/b":
            return answer(302, b"", {"Location": "https://evil.example/c"}, url=req.url)
        raise AssertionError(f"followed to {req.url}")

    mock = MockTransport(handler)
    with pytest.raises(UpstreamError) as exc:
        await upstream(mock).post(WWW + "/a", data=b"x=1", headers={"Content-Type": "text/plain"}, cookies={"s": "t"})
    assert exc.value.kind == "redirect" and "outside TikTok's hosts" in str(exc.value)
    _first, second = mock.sent
    assert (second.method, second.body) == ("GET", None)  # 303: POST becomes a GET without the body
    assert "Cookie" not in second.headers and "Content-Type" not in second.headers  # another host: no cookie


async def test_too_many_hops_and_loops_are_refused() -> None:
    loop = MockTransport(lambda req: answer(302, b"", {"Location": WWW + "/same"}, url=req.url))
    with pytest.raises(UpstreamError) as exc:
        await upstream(loop).get(WWW + "/same")
    assert exc.value.kind == "redirect" and len(loop.sent) == 1


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (TransportError("timeout"), "timeout", "TikTok www timed out after 2 s"),
        (TransportError("too_large"), "too_large", "TikTok www answered more than"),
        (
            TransportError("unreachable", "connection refused"),
            "unreachable",
            "TikTok www unreachable (connection refused)",
        ),
    ],
)
async def test_transport_failures_become_upstream_errors(error: TransportError, kind: str, text: str) -> None:
    with pytest.raises(UpstreamError) as exc:
        await upstream(canned(error)).get(WWW + "/x")
    assert exc.value.kind == kind and str(exc.value).startswith(text)


async def test_hops_share_one_deadline() -> None:
    async def slow(req: SentRequest) -> TransportResponse:
        await asyncio.sleep(0.15)
        return answer(302, b"", {"Location": WWW + f"/{len(mock.sent)}"}, url=req.url)

    mock = MockTransport(slow)
    with pytest.raises(UpstreamError):
        await upstream(mock, max_redirects=10).get(WWW + "/0", timeout_s=0.5)
    budgets = [s.timeout_s for s in mock.sent]
    assert budgets[0] <= 0.5 and all(b < a for a, b in itertools.pairwise(budgets))


# ---- what is observed of each upstream ------------------------------------------------------------


async def test_observations_per_base_and_the_circuit() -> None:
    results: list[TransportResponse | TransportError] = []

    def handler(_req: SentRequest) -> TransportResponse:
        item = results.pop(0)
        if isinstance(item, TransportError):
            raise item
        return item

    up = upstream(MockTransport(handler), clock=lambda: 1000.0)
    results[:] = [answer(404), answer(503), TransportError("timeout"), answer(429)]
    assert (await up.get(WWW + "/a")).status == 404
    assert up.observed["www"].last_outcome == "ok"  # TikTok answered: a 404 is an answer, not an outage
    assert (await up.get(WWW + "/a")).status == 503  # an answer the callers judge; a failure for health
    with pytest.raises(UpstreamError):
        await up.get(WWW + "/a")
    assert (await up.get(WWW + "/a")).status == 429
    www = up.observed["www"]
    assert (www.calls, www.failures, www.consecutive_failures) == (4, 3, 3)
    assert www.last_outcome == "rate_limited" and www.last_status == 429 and www.last_at == 1000.0
    assert www.circuit == "open" and CIRCUIT_OPEN_AFTER == 3
    assert up.observed["webcast"].calls == 0  # another base, untouched
    results[:] = [answer(200)]
    await up.get(WWW + "/a")
    assert www.circuit == "closed" and www.last_ok_at == 1000.0 and www.last_error == "rate_limited"


async def test_a_caller_giving_up_is_not_tiktoks_failure() -> None:
    async def hang(_req: SentRequest) -> TransportResponse:
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    up = upstream(MockTransport(hang))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await up.get(WEBCAST + "/im/fetch/")
    assert up.observed["webcast"].calls == 0


# ---- the debug line: outcome without secrets ------------------------------------------------------

SECRET_TOKEN = "msTokenValue-SECRET-0123456789"
SECRET_COOKIE = "ttwidValue-SECRET-abcdefghij"


async def test_each_call_logs_its_outcome_at_debug_without_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("debug", json_output=True)
    try:
        mock = MockTransport(lambda req: answer(200, b"{}", set_cookies=[f"ttwid={SECRET_COOKIE}"]))
        up = upstream(mock)
        await up.get(
            WEBCAST + f"/im/fetch/?room_id=7451&msToken={SECRET_TOKEN}&cursor=c-{SECRET_TOKEN}",
            params={"verifyFp": "verify_" + SECRET_TOKEN},
            cookies={"ttwid": SECRET_COOKIE},
        )
        with pytest.raises(UpstreamError):
            await upstream(canned(TransportError("unreachable", "connection refused"))).post(TTWID, json_body={})
    finally:
        logs.configure("warning", json_output=True)
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if '"upstream"' in line]
    ok, failed = (line for line in lines if line.get("event") == "upstream")
    assert (ok["upstream"], ok["method"], ok["path"], ok["status"], ok["outcome"]) == (
        "webcast",
        "GET",
        "/webcast/im/fetch/",
        200,
        "ok",
    )
    assert ok["level"] == "debug" and isinstance(ok["ms"], float)
    assert (failed["upstream"], failed["outcome"], failed["status"]) == ("ttwid", "unreachable", 0)
    for secret in (SECRET_TOKEN, SECRET_COOKIE, "7451", "msToken", "verifyFp"):
        assert secret not in out, secret


def test_the_debug_line_is_not_written_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", json_output=True)
    try:
        asyncio.run(upstream(MockTransport(lambda req: answer())).get(WWW + "/x"))
    finally:
        logs.configure("warning", json_output=True)
    assert '"event": "upstream"' not in capsys.readouterr().out
