"""The remote provider against a second, real ttsign on 127.0.0.1 and against misbehaving sign-server doubles.

Every failure must be the right `ProviderError` kind within the deadline, and no message, log line or
`info()` may hold the key or more than a short, redacted summary of what the remote sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from tests.providers.remote_servers import OWN_UA, SECRET_IN_BODY, Misbehaving, TtsignServer, closed_port_url
from ttsign.config import Settings
from ttsign.providers.base import ProviderError, SignJob
from ttsign.providers.remote import MAX_ANSWER_BYTES, REMOTE_UA_WARNING, RemoteConfigError, RemoteProvider
from ttsign.signing.factory import make_signer
from ttsign.signing.policy import Product, parse_url
from ttsign.signing.service import SigningService
from ttsign.signing.verify import verify

KEY = "remote-provider-test-key-0123456789"
API_URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30&cursor=0&secUid=MS4wLjABAAAAremote"
WEBCAST_URL = "https://webcast.tiktok.com/webcast/gift/list/?aid=1988&room_id=7300000000000000001"
CALLER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def remote_ttsign() -> Iterator[TtsignServer]:
    with TtsignServer(
        api_keys=KEY, rate_limit_minute=0, rate_limit_hour=0, rate_limit_day=0, auth_failures_per_minute=0
    ) as server:
        yield server


def settings(url: str, key: str = KEY, timeout_s: float = TIMEOUT_S) -> Settings:
    return Settings(providers="native,remote", remote_url=url, remote_key=key, remote_timeout_s=timeout_s)


def provider(url: str, key: str = KEY, timeout_s: float = TIMEOUT_S) -> RemoteProvider:
    signing = SigningService(make_signer(Settings()))
    return RemoteProvider.from_settings(settings(url, key, timeout_s), signing)


def job(url: str = API_URL, **kw: object) -> SignJob:
    return SignJob(url, parse_url(url), **kw)  # type: ignore[arg-type]


async def failure(p: RemoteProvider, j: SignJob | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await p.sign(j or job())
    return caught.value


# -- against a real ttsign -------------------------------------------------------------------------------


async def test_a_second_ttsign_signs_an_api_url_with_tokens_that_verify(remote_ttsign: TtsignServer) -> None:
    p = provider(remote_ttsign.url)
    await p.start()
    try:
        result = await p.sign(job(user_agent=CALLER_UA))
    finally:
        await p.close()
    signed = result.request
    assert signed.product is Product.FULL
    assert {"X-Bogus", "X-Gnarly", "X-Dynosaur", "msToken"} <= set(signed.tokens)
    assert signed.url.startswith(API_URL + "&")
    assert signed.user_agent == CALLER_UA and signed.headers["User-Agent"] == CALLER_UA
    assert signed.warnings == ()  # the remote kept the caller's UA
    checked = verify(signed.url, signed.user_agent, signed.body, now=time.time())
    assert checked.ok, checked.problems
    assert p.info()["calls"] == 1 and p.info()["ok"] == 1 and p.info()["last_error"] is None


async def test_a_post_body_travels_as_the_payload_and_the_tokens_cover_it(remote_ttsign: TtsignServer) -> None:
    p = provider(remote_ttsign.url)
    body = b'{"cursor": 0}'
    result = await p.sign(job(method="POST", body=body, user_agent=CALLER_UA))
    await p.close()
    assert result.request.method == "POST" and result.request.body == body
    assert verify(result.request.url, CALLER_UA, body).ok
    assert not verify(result.request.url, CALLER_UA, b'{"cursor": 1}').ok  # the body is really signed over


async def test_a_webcast_url_and_the_legacy_products(remote_ttsign: TtsignServer) -> None:
    p = provider(remote_ttsign.url)
    webcast = await p.sign(job(WEBCAST_URL))
    legacy = await p.sign(job(API_URL, legacy=True))
    plain = await p.sign(job(API_URL))
    await p.close()
    assert webcast.request.product is Product.WEBCAST and set(webcast.request.tokens) == {"msToken"}
    assert len(legacy.legacy_signature) == 47 and legacy.tt_params
    assert plain.legacy_signature == "" and plain.tt_params == ""


async def test_an_ms_token_given_beside_the_url_reaches_the_remote(remote_ttsign: TtsignServer) -> None:
    p = provider(remote_ttsign.url)
    result = await p.sign(job(API_URL, ms_token="caller-ms-token-value-123"))
    await p.close()
    assert result.request.tokens["msToken"] == "caller-ms-token-value-123"


async def test_without_a_caller_ua_the_remote_s_own_ua_is_reported() -> None:
    with Misbehaving("ok") as double:
        p = provider(double.url)
        result = await p.sign(job())
        forced = await p.sign(job(user_agent=CALLER_UA))
        await p.close()
    assert result.request.user_agent.endswith("RemoteDouble/1.0")
    assert result.request.headers["User-Agent"] == result.request.user_agent
    assert "userAgent" not in double.bodies[0] and double.bodies[1]["userAgent"] == CALLER_UA
    assert forced.request.warnings == ()


async def test_a_remote_that_picks_another_ua_says_so_in_the_warnings() -> None:
    with Misbehaving("own_ua") as double:
        p = provider(double.url)
        result = await p.sign(job(user_agent=CALLER_UA))
        await p.close()
    assert result.request.user_agent == OWN_UA and result.request.headers["User-Agent"] == OWN_UA
    assert result.request.warnings == (REMOTE_UA_WARNING,)


async def test_a_wrong_key_is_a_bad_answer_that_never_shows_the_key(
    remote_ttsign: TtsignServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-remote-key-abcdefghijklmnop"
    p = provider(remote_ttsign.url, key=wrong)
    with caplog.at_level(logging.DEBUG):
        err = await failure(p)
    await p.close()
    assert err.kind == "bad_answer"
    assert "HTTP 401" in err.message and "TTSIGN_REMOTE_KEY" in err.message
    shown = err.message + repr(p) + repr(p.info()) + caplog.text
    assert wrong not in shown and KEY not in shown
    assert p.info()["key"] is True and p.info()["failures"] == {"bad_answer": 1}
    assert p.info()["last_error"]["kind"] == "bad_answer"


async def test_the_key_is_sent_in_x_api_key() -> None:
    with Misbehaving("ok") as double:
        await provider(double.url).sign(job())
        await provider(double.url, key="").sign(job())
    assert double.keys_seen == [KEY, None]


# -- misbehaving remotes --------------------------------------------------------------------------------


async def test_a_slow_remote_is_a_timeout_at_the_deadline() -> None:
    with Misbehaving("slow", delay_s=1.0) as double:
        p = provider(double.url, timeout_s=0.3)
        started = time.perf_counter()
        err = await failure(p)
        took = time.perf_counter() - started
        await p.close()
    assert err.kind == "timeout" and "0.3 s" in err.message
    assert 0.25 <= took < 1.5, took


async def test_a_trickling_remote_is_a_timeout_at_one_deadline_for_the_whole_call() -> None:
    with Misbehaving("trickle") as double:
        p = provider(double.url, timeout_s=0.5)
        started = time.perf_counter()
        err = await failure(p)
        took = time.perf_counter() - started
        await p.close()
    assert err.kind == "timeout", err.message
    assert took < 1.5, took  # each 0.1 s drip is within httpx's per-read timeout: only the call deadline ends it


async def test_a_refused_connection_is_an_error() -> None:
    err = await failure(provider(closed_port_url()))
    assert err.kind == "error" and "unreachable" in err.message and "127.0.0.1" in err.message


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("http500", "answered HTTP 500"),
        ("garbage", "not JSON"),
        ("not_object", "not an object"),
        ("code403", "answered code 403: premium endpoint"),
        ("no_response", "without a response object"),
        ("foreign_host", "is for another host"),
        ("no_mstoken", "carries no msToken"),
        ("huge", f"more than {MAX_ANSWER_BYTES} bytes"),
        ("echo_secret", "answered code 500: failed for sessionid="),
    ],
)
async def test_an_answer_that_is_not_a_signing_answer_is_bad_answer_with_a_short_redacted_summary(
    mode: str, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    with Misbehaving(mode) as double, caplog.at_level(logging.DEBUG):
        p = provider(double.url)
        err = await failure(p)
        await p.close()
    assert err.kind == "bad_answer", err.message
    assert said in err.message, err.message
    assert err.message.startswith(f"remote sign server 127.0.0.1:{double.port} ")
    assert SECRET_IN_BODY not in err.message + caplog.text + repr(p.info())  # never the remote's body
    assert len(err.message) < 160, err.message
    assert p.info()["failures"] == {"bad_answer": 1} and p.info()["ok"] == 0


async def test_the_provider_recovers_when_the_remote_does() -> None:
    with Misbehaving("http500") as double:
        p = provider(double.url)
        assert (await failure(p)).kind == "bad_answer"
        double.mode = "ok"
        await p.sign(job())
        await p.close()
    info = p.info()
    assert info["calls"] == 2 and info["ok"] == 1 and info["failures"] == {"bad_answer": 1}
    assert info["last_ok_at"] is not None and info["last_error"]["kind"] == "bad_answer"


# -- configuration and info ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["", "   ", "ftp://signer.example", "not a url", "https://", "https://host:99999", "https://h/?k=1"]
)
def test_an_unusable_remote_url_is_a_one_line_error_naming_the_setting(url: str) -> None:
    with pytest.raises(RemoteConfigError) as caught:
        provider(url)
    message = str(caught.value)
    assert "TTSIGN_REMOTE_URL" in message and "\n" not in message


def test_info_shows_the_host_without_userinfo_or_key() -> None:
    p = provider("https://user:userinfo-secret@signer.example:8443/base/", key="info-key-0123456789")
    info = p.info()
    assert info["host"] == "signer.example:8443"
    assert "userinfo-secret" not in repr(info) + repr(p) and "info-key-0123456789" not in repr(info) + repr(p)
    assert p.base == "https://user:userinfo-secret@signer.example:8443/base"  # used, never shown
