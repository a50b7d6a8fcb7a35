"""Production mode (TTSIGN_BROWSER_SDK empty): each page loads TTSIGN_BROWSER_PAGE_URL through TTSIGN_PROXY,
so TikTok's page runs whatever SDK it names; the provider records that script's URL, sha256 and version
strings, and signs through it.

Offline: a small aiohttp server of the test's own is the proxy, and answers as www.tiktok.com (a page
with `<script src>` of the npm SDK on a TikTok CDN host, then the page's own `byted_acrawler.init`) and as
the CDN. The request being signed is captured and aborted in the browser: the proxy never sees it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from tests.providers.sdk_files import SHA256, require_chromium, sdk_file
from ttsign.config import Settings
from ttsign.providers.base import SignJob
from ttsign.providers.browser import BrowserProvider
from ttsign.providers.browser_sdk import INIT_OPTIONS
from ttsign.signing.policy import parse_url
from ttsign.signing.signer import Signer
from ttsign.signing.verify import verify

SDK = "webmssdk_2.0.0.485.js"
CDN = "sf16-website-login.neutral.ttwstatic.com"
SDK_PATH = "/obj/tiktok_web_login_static/webmssdk/2.0.0.485/webmssdk.js"
SDK_URL = f"http://{CDN}{SDK_PATH}"
PAGE_URL = "http://www.tiktok.com/explore"
PAGE = (
    "<!doctype html><meta charset=utf-8><title>Explore | TikTok</title><div id=app></div>"
    f'<script src="{SDK_URL}"></script>'
    f"<script>byted_acrawler.init({json.dumps(INIT_OPTIONS)})</script>"
    # the page's own traffic to the very path being signed: the provider must not take it for its own request
    "<script>setInterval(() => fetch('/api/explore/item_list/?page_own=1').catch(() => {}), 25)</script>"
)
URL = "https://www.tiktok.com/api/explore/item_list/?aid=1988&count=16&device_id=7368712345678901234"


@pytest_asyncio.fixture
async def proxy() -> AsyncIterator[dict[str, Any]]:
    """An HTTP forward proxy that is also www.tiktok.com and the CDN (absolute-form requests)."""
    body = sdk_file(SDK).read_bytes()
    seen: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(f"{request.method} {request.host}{request.path_qs}")
        if request.host == "www.tiktok.com" and request.path == "/explore":
            return web.Response(text=PAGE, content_type="text/html")
        if request.host == CDN and request.path == SDK_PATH:
            return web.Response(body=body, content_type="application/javascript")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield {"url": f"http://127.0.0.1:{port}", "seen": seen}
    await runner.cleanup()


async def test_page_mode_loads_the_pages_sdk_through_the_proxy_and_records_it(proxy: dict[str, Any]) -> None:
    executable = require_chromium()
    settings = Settings(
        TTSIGN_BROWSER_EXECUTABLE=executable,
        TTSIGN_BROWSER_PAGE_URL=PAGE_URL,
        TTSIGN_BROWSER_SDK="",
        TTSIGN_PROXY=proxy["url"],
        TTSIGN_BROWSER_PAGES=1,
        TTSIGN_BROWSER_TIMEOUT=10,  # generous: the page's own traffic and a loaded machine
    )
    provider = BrowserProvider.from_settings(settings, Signer())
    await provider.start()
    try:
        info = provider.info()
        assert info["mode"] == "page"
        assert info["sdk"] == [{"url": SDK_URL, "sha256": SHA256[SDK], "versions": ["2.0.0.485", "5.1.3-ZTCA"]}]
        assert "GET www.tiktok.com/explore" in proxy["seen"] and f"GET {CDN}{SDK_PATH}" in proxy["seen"]
        for _ in range(20):
            signed = (await provider.sign(SignJob(url=URL, parsed=parse_url(URL)))).request
            assert signed.url.startswith(URL + "&msToken=")
            assert verify(signed.url, signed.user_agent, now=time.time()).ok
        assert [s for s in proxy["seen"] if "page_own=1" in s]  # the page's own requests went out
        assert not [s for s in proxy["seen"] if "count=16" in s]  # ours were captured and aborted, never sent
    finally:
        await provider.close()


@pytest.mark.parametrize(
    ("proxy_url", "option"),
    [
        ("http://127.0.0.1:3128", {"server": "http://127.0.0.1:3128"}),
        ("socks5h://proxy.example:1080", {"server": "socks5://proxy.example:1080"}),
        (
            "http://us%40r:p%3Ass@proxy.example:8080",
            {"server": "http://proxy.example:8080", "username": "us@r", "password": "p:ss"},
        ),
        ("", None),
    ],
)
def test_the_proxy_setting_as_playwrights_launch_proxy(proxy_url: str, option: dict[str, str] | None) -> None:
    from ttsign.providers.browser_pool import proxy_option

    assert proxy_option(proxy_url) == option
