"""The browser provider: TikTok's own SDK in the system's Chromium (Playwright), signing the way a page does.

Two modes:

* **page** (`TTSIGN_BROWSER_SDK` empty, production): every page loads `TTSIGN_BROWSER_PAGE_URL` through
  `TTSIGN_PROXY`, so TikTok's page runs its *current* SDK; the provider records each SDK script's URL,
  sha256 and version strings (`info()["sdk"]`, for the change monitor).
* **pinned** (`TTSIGN_BROWSER_SDK` = a file or URL): a blank page at the page URL's TikTok origin and the
  SDK are answered locally by Playwright routing, then `byted_acrawler.init` (sdk-oracle.md §2); every other
  request the page makes is aborted, so nothing leaves the machine.

A call: the page issues the job's request (`fetch` for `/api/*` GETs, `XMLHttpRequest` for POSTs and
webcast, with the job's method and body), the SDK's hook appends its tokens, and the pool's route captures
the outgoing request and aborts it. The answer is that URL and its headers. The User-Agent is the
browser's own (`navigator.userAgent`); a caller's UA is ignored, and the answer's warnings say so. So is
the msToken: the SDK reads its own once (`localStorage.xmst`) and signs with it.

Install: `pip install 'ttsign[browser]'` (Playwright, the Python package) and Debian's Chromium
(`apt-get install chromium`); no browser is ever downloaded.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ttsign.algorithms.signature import legacy_signature
from ttsign.providers.base import ProviderError, SignJob, signed_from_url
from ttsign.providers.browser_pool import BrowserPool, PoolOptions
from ttsign.providers.browser_sdk import PinnedSdk, SdkLoadError, load_pinned
from ttsign.signing.policy import Product
from ttsign.signing.service import LEGACY_PAGE, SigningResult, tt_params_for

if TYPE_CHECKING:
    from ttsign.config import Settings
    from ttsign.signing.signer import Signer

INSTALL_HINT = (
    "the browser provider needs Playwright: pip install 'ttsign[browser]' "
    "(and Debian's chromium: apt-get install chromium)"
)
UA_WARNING = (
    "signed by TikTok's SDK in a browser: send exactly this User-Agent (the browser's own); the tokens are bound to it"
)
KEEP_HEADERS = ("user-agent", "referer", "origin", "content-type")


def _check_playwright() -> None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        raise ProviderError("unavailable", INSTALL_HINT) from None


def _check_executable(path: str) -> None:
    if not Path(path).is_file():
        raise ProviderError(
            "unavailable",
            f"Chromium not found at {path}: install it (apt-get install chromium) or set TTSIGN_BROWSER_EXECUTABLE",
        )


class BrowserProvider:
    name = "browser"
    browser_ua = True  # answers carry the browser's own User-Agent (ProviderAnswer.browser_ua)

    def __init__(
        self,
        signer: Signer,
        *,
        executable: str = "/usr/bin/chromium",
        page_url: str = "https://www.tiktok.com/explore",
        sdk: str = "",
        proxy: str = "",
        pages: int = 2,
        queue: int = 64,
        timeout_s: float = 5.0,
        recycle_after: int = 5000,
        recycle_minutes: float = 60.0,
        freeze_ms: int | None = None,
        user_agent: str | None = None,
        platform: str | None = None,
        device_scale_factor: float | None = None,
        ms_token: str | None = None,
        load_timeout_s: float = 30.0,
    ) -> None:
        """`freeze_ms` (tests and the oracle): freeze the page's clock at that many ms (sdk-oracle.md §2).
        `user_agent`, `platform`, `device_scale_factor`, `ms_token`: an oracle profile instead of the browser's
        own UA (a pinned SDK reads `ms_token` from `localStorage.xmst` once, as it loads)."""
        _check_playwright()
        _check_executable(executable)
        self.signer = signer
        self.sdk_source = sdk
        self.freeze_ms = freeze_ms
        self._options = PoolOptions(
            executable=executable,
            page_url=page_url,
            pages=pages,
            queue=queue,
            timeout_s=timeout_s,
            recycle_after=recycle_after,
            recycle_s=recycle_minutes * 60.0,
            proxy=proxy,
            freeze_ms=freeze_ms,
            user_agent=user_agent,
            platform=platform,
            device_scale_factor=device_scale_factor,
            ms_token=ms_token,
            load_timeout_s=load_timeout_s,
        )
        self.pool: BrowserPool | None = None
        self._start_error = ""
        self._page_scheme = urlsplit(page_url).scheme or "https"

    @classmethod
    def from_settings(cls, settings: Settings, signer: Signer, **options: Any) -> BrowserProvider:
        """The provider `TTSIGN_PROVIDERS=...,browser` builds; raises `ProviderError('unavailable')` in one line
        when Playwright or Chromium is missing."""
        return cls(
            signer,
            executable=settings.browser_executable,
            page_url=settings.browser_page_url,
            sdk=settings.browser_sdk,
            proxy=settings.proxy,
            pages=settings.browser_pages,
            queue=settings.browser_queue,
            timeout_s=settings.browser_timeout_s,
            recycle_after=settings.browser_recycle_after,
            recycle_minutes=settings.browser_recycle_minutes,
            **options,
        )

    @property
    def mode(self) -> str:
        return "pinned" if self.sdk_source else "page"

    async def start(self) -> None:
        if self.pool is not None:
            return
        try:
            await self._start()
        except ProviderError as err:
            self._start_error = err.message  # shown by info() as state "unavailable" (/health: down)
            raise
        self._start_error = ""

    async def _start(self) -> None:
        pinned: PinnedSdk | None = None
        if self.sdk_source:
            try:
                pinned = await load_pinned(self.sdk_source, proxy=self._options.proxy)
            except SdkLoadError as exc:
                raise ProviderError("unavailable", str(exc)) from None
        pool = BrowserPool(dataclasses.replace(self._options, pinned=pinned))
        await pool.start()
        self.pool = pool

    async def close(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            await pool.close()

    async def sign(self, job: SignJob) -> SigningResult:
        pool = self.pool
        if pool is None:
            raise ProviderError("unavailable", "the browser provider is not started")
        try:
            body = job.body.decode("utf-8") if job.body else None
        except UnicodeDecodeError:
            raise ProviderError(
                "error", "the browser provider signs text bodies only (the body is not UTF-8)"
            ) from None
        parsed = job.parsed
        method = job.method.upper()
        product = _product(job)
        kind = "xhr" if method != "GET" or product is Product.WEBCAST or "webcast" in parsed.host else "fetch"
        # The page sends the business query as the SDK signs it (parsed.query: token-free, hook-encoded; the
        # hook's encoding leaves it as it is), over the page's own scheme (no mixed content).
        in_page = f"{self._page_scheme}://{parsed.host}{parsed.path}" + (f"?{parsed.query}" if parsed.query else "")
        captured = await pool.send(kind, in_page, method, body)
        signed_url = parsed.scheme + captured.url[len(urlsplit(captured.url).scheme) :]
        ua = captured.headers.get("user-agent") or pool.user_agent
        headers = {
            _title(k): v for k, v in captured.headers.items() if k in KEEP_HEADERS or k.startswith(("x-", "tt-"))
        }
        signed = signed_from_url(self.signer, job, signed_url, ua, headers)
        signed = dataclasses.replace(signed, warnings=_warnings(job, signed.tokens, ua, product))
        if not job.legacy:
            return SigningResult(signed)
        ts = self.freeze_ms // 1000 if self.freeze_ms is not None else int(time.time())
        business = dataclasses.replace(signed, signed_query=signed.signed_query.split("&X-Bogus=", 1)[0])
        return SigningResult(signed, legacy_signature(job.url, ua, ts, LEGACY_PAGE), tt_params_for(business))

    def info(self) -> dict[str, Any]:
        pool = self.pool
        base: dict[str, Any] = {
            "mode": self.mode,
            "sdk": [],
            "browser_version": "",
            "user_agent": "",
            "pages": 0,
            "queue": 0,
            "signed": 0,
            "restarts": 0,
            "last_error": "",
        }
        if pool is None:
            start_error = self._start_error
            base.update(state="unavailable" if start_error else "stopped", last_error=start_error)
            return base
        base.update(
            sdk=[record.to_dict() for record in pool.sdk.values()],
            browser_version=pool.browser_version,
            user_agent=pool.user_agent,
            pages=pool.live_pages,
            queue=pool.waiting,
            signed=pool.signed,
            restarts=pool.restarts,
            last_error=pool.last_error,
            state=pool.state,
            recycled=pool.recycled,
        )
        return base


def _product(job: SignJob) -> Product:
    from ttsign.signing.policy import choose_product

    return choose_product(job.parsed.host, job.parsed.path, job.method.upper())


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def _warnings(job: SignJob, tokens: dict[str, str], ua: str, product: Product) -> tuple[str, ...]:
    out = [UA_WARNING]
    if job.user_agent and job.user_agent != ua:
        out.append("the User-Agent given was ignored: the browser signs with its own")
    given = job.ms_token if job.ms_token is not None else job.parsed.ms_token
    if given and given != tokens.get("msToken"):
        out.append("the msToken given was not used: the browser's SDK signs with its own")
    if not tokens:
        out.append("the SDK's hook left this request unsigned: the page sends it so (not on the hook's allowlist)")
    elif not tokens.get("msToken"):
        out.append("msToken is empty: accepted by TikTok, but a real one from a TikTok response is better")
    if product is Product.WEBCAST and ("X-Gnarly" in tokens or "X-Dynosaur" in tokens):
        out.append("the SDK put X-Gnarly on a webcast path TikTok answers with 403 when it carries one")
    return tuple(out)
