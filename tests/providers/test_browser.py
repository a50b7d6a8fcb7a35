"""The browser provider signs with TikTok's own SDK (npm tiktok-signature@4.3.6, pinned, served locally) in
Debian's Chromium: /api/*, webcast and room URLs; our decoders read the tokens and our verifier accepts them
against the request; the answer carries the browser's UA and says so; info() reports the SDK.

One browser for the module (a module-scoped provider, real time). Fails, not skips, without Chromium.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.providers.sdk_files import SHA256, require_chromium, sdk_file
from ttsign.algorithms.decode import decode_token
from ttsign.config import Settings
from ttsign.providers.base import ProviderError, SignJob
from ttsign.providers.browser import INSTALL_HINT, UA_WARNING, BrowserProvider
from ttsign.signing.policy import Product, parse_url
from ttsign.signing.signer import Signer
from ttsign.signing.verify import verify

pytestmark = pytest.mark.asyncio(loop_scope="module")

SDK = "webmssdk_1.0.0.368.js"
API = (
    "https://www.tiktok.com/api/post/item_list/?aid=1988&app_name=tiktok_web&device_platform=web_pc"
    "&device_id=7368712345678901234&secUid=MS4wLjABAAAA&count=35&cursor=0"
)
WEBCAST = "https://webcast.tiktok.com/webcast/im/fetch/?aid=1988&app_name=tiktok_web&room_id=7300000000000000000"
ROOM = "https://webcast.tiktok.com/webcast/room/enter/?aid=1988&app_name=tiktok_web&room_id=7300000000000000000"
ROOM_BODY = b"room_id=7300000000000000000&identity=audience"


def job(url: str, method: str = "GET", body: bytes = b"", **kw: object) -> SignJob:
    return SignJob(url=url, parsed=parse_url(url), method=method, body=body, **kw)  # type: ignore[arg-type]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def provider() -> AsyncIterator[BrowserProvider]:
    require_chromium()
    p = BrowserProvider(Signer(), sdk=str(sdk_file(SDK)), page_url="https://www.tiktok.com/@tiktok/live", pages=2)
    await p.start()
    yield p
    await p.close()


@pytest.mark.parametrize(
    ("url", "method", "body", "product"),
    [(API, "GET", b"", Product.FULL), (WEBCAST, "GET", b"", Product.WEBCAST), (ROOM, "POST", ROOM_BODY, Product.FULL)],
    ids=["api", "webcast", "room"],
)
async def test_signs_and_our_decoders_and_verifier_accept_it(
    provider: BrowserProvider, url: str, method: str, body: bytes, product: Product
) -> None:
    result = await provider.sign(job(url, method, body))
    signed = result.request
    assert signed.url.startswith(url + "&msToken=")  # the business query untouched, the SDK's tokens after it
    assert signed.product is product
    # the 5.1.3-ZTCA hook (SDK 1.0.0.368): msToken, a real 28-character X-Bogus, X-Gnarly, in that order
    assert list(signed.tokens) == ["msToken", "X-Bogus", "X-Gnarly"]
    assert len(signed.tokens["X-Bogus"]) == 28
    assert decode_token(signed.tokens["X-Bogus"])["type"] == "x-bogus"
    gnarly = decode_token(signed.tokens["X-Gnarly"])
    assert gnarly["layout"] == "x-gnarly-5.1.3"
    checked = verify(signed.url, signed.user_agent, body, now=time.time())
    assert checked.ok, checked.problems
    assert sorted(c.name for c in checked.checks) == ["X-Bogus", "X-Gnarly"]
    # a tampered business query no longer verifies (the check above could fail)
    assert not verify(signed.url.replace("aid=1988", "aid=1989"), signed.user_agent, body).ok
    assert signed.user_agent == provider.info()["user_agent"]
    assert signed.headers["User-Agent"] == signed.user_agent
    assert UA_WARNING in signed.warnings
    if method == "POST":
        assert signed.method == "POST" and signed.body == body


async def test_the_browsers_own_user_agent_not_the_callers(provider: BrowserProvider) -> None:
    caller_ua = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 Safari/537.36"
    )
    signed = (await provider.sign(job(API, user_agent=caller_ua))).request
    ua = provider.info()["user_agent"]
    assert signed.user_agent == ua != caller_ua
    assert "HeadlessChrome" not in ua and "Chrome/" in ua  # what a headed Chrome sends
    assert any("User-Agent given was ignored" in w for w in signed.warnings)
    assert verify(signed.url, ua).ok
    assert not verify(signed.url, caller_ua).ok  # the tokens are bound to the browser's UA


async def test_legacy_products(provider: BrowserProvider) -> None:
    result = await provider.sign(job(API, legacy=True))
    assert result.legacy_signature.startswith("_02B4Z6wo00f01")
    assert result.tt_params
    assert (await provider.sign(job(API))).legacy_signature == ""


async def test_info_names_the_pinned_sdk(provider: BrowserProvider) -> None:
    before = provider.info()["signed"]
    await provider.sign(job(API))
    info = provider.info()
    assert info["mode"] == "pinned"
    assert info["sdk"] == [{"url": str(sdk_file(SDK)), "sha256": SHA256[SDK], "versions": ["1.0.0.368", "5.1.3-ZTCA"]}]
    assert info["browser_version"].split(".")[0].isdigit()
    assert info["pages"] == 2 and info["queue"] == 0 and info["restarts"] == 0
    assert info["signed"] == before + 1
    assert set(info) >= {
        "mode",
        "sdk",
        "browser_version",
        "user_agent",
        "pages",
        "queue",
        "signed",
        "restarts",
        "last_error",
    }


async def test_a_body_that_is_not_text_is_refused(provider: BrowserProvider) -> None:
    with pytest.raises(ProviderError) as err:
        await provider.sign(job(ROOM, "POST", b"\xff\xfe"))
    assert err.value.kind == "error"


def test_without_playwright_one_line_saying_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright.async_api", None)  # `import` of it now raises ImportError
    with pytest.raises(ProviderError) as err:
        BrowserProvider.from_settings(Settings(), Signer())
    assert err.value.kind == "unavailable"
    assert err.value.message == INSTALL_HINT and "\n" not in INSTALL_HINT


def test_without_chromium_one_line_saying_what_to_do(tmp_path: object) -> None:
    settings = Settings(TTSIGN_BROWSER_EXECUTABLE="/nonexistent/chromium")
    with pytest.raises(ProviderError) as err:
        BrowserProvider.from_settings(settings, Signer())
    assert err.value.kind == "unavailable"
    assert "apt-get install chromium" in err.value.message and "TTSIGN_BROWSER_EXECUTABLE" in err.value.message
    assert "\n" not in err.value.message


async def test_not_started_is_unavailable() -> None:
    p = BrowserProvider(Signer(), sdk=str(sdk_file(SDK)))
    with pytest.raises(ProviderError) as err:
        await p.sign(job(API))
    assert err.value.kind == "unavailable"
    await p.close()  # safe without a start


async def test_a_failed_start_is_reported_unavailable_with_its_reason(tmp_path: Path) -> None:
    from ttsign.server.health import providers_component

    p = BrowserProvider(Signer(), sdk=str(tmp_path / "missing-sdk.js"))  # the pinned SDK cannot be read
    assert p.info()["state"] == "stopped"
    with pytest.raises(ProviderError) as err:
        await p.start()
    info = p.info()
    assert info["state"] == "unavailable" and info["last_error"] == err.value.message
    status, rows, reasons = providers_component([{"name": "browser", **info}], signer_ok=True)
    assert status == "down" and rows[0]["status"] == "down" and reasons == ["provider browser: unavailable"]
    await p.close()
