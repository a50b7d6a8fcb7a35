"""The browser provider's pages: one Chromium (Playwright, the system's executable), N pages each running
TikTok's SDK, a bounded queue of callers, recycling and restarts.

Every page lives in its own incognito context (no msToken or cookie is shared between pages). A caller takes
an idle page (waiting in a queue of at most `queue` callers, else `overloaded`), the page issues the request
(`browser_sdk.SEND_SCRIPT`), the SDK's fetch/XHR hook appends its tokens, and this module's Playwright route
captures the outgoing request and aborts it, so nothing is sent. A page is replaced after `recycle_after`
signatures, after `recycle_s` seconds, after a timeout and after it crashed; when the browser itself dies,
the in-flight calls fail with `crashed`, and the browser is relaunched in the background (with backoff).
`close()` closes every context, the browser and Playwright's driver: no Chromium process outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ttsign.providers.base import ProviderError
from ttsign.providers.browser_sdk import (
    BLANK_PAGE,
    INIT_OPTIONS,
    PINNED_SDK_PATH,
    SEND_SCRIPT,
    PinnedSdk,
    SdkRecord,
    freeze_script,
    is_sdk_script,
)

_log = logging.getLogger("ttsign.providers.browser")

LAUNCH_ARGS = (
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-blink-features=AutomationControlled",
)
"""sdk-oracle.md §2's `clean` profile (`navigator.webdriver === false`); headless and no sandbox come from
Playwright's own launch options."""
SDK_RECORDS = 8
"""How many SDK scripts `info()` keeps (page mode), newest last."""
PINNED_ARGS = ("--host-resolver-rules=MAP * ~NOTFOUND",)
"""Pinned mode: no name resolves, so nothing can leave the machine even past the route (which aborts all)."""


@dataclass(frozen=True)
class PoolOptions:
    executable: str
    page_url: str
    pages: int = 2
    queue: int = 64
    timeout_s: float = 5.0
    recycle_after: int = 5000
    recycle_s: float = 3600.0
    proxy: str = ""
    pinned: PinnedSdk | None = None
    freeze_ms: int | None = None
    user_agent: str | None = None
    """Override the browser's own UA (the oracle's profiles); None: the browser's, without `Headless`."""
    platform: str | None = None
    device_scale_factor: float | None = None
    ms_token: str | None = None
    """Stored as `localStorage.xmst` before a pinned SDK loads (the SDK reads it once)."""
    load_timeout_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Captured:
    """The request the SDK's hook let out: its URL (tokens appended) and headers."""

    url: str
    headers: dict[str, str]


_PLAIN = re.compile(r"[A-Za-z0-9_.~=&%+\-]*")


@dataclass
class _Expect:
    target: str  # host + path of the request the page is about to send
    method: str
    future: asyncio.Future[Captured]
    query_head: str = ""
    """The start of its query that no browser re-encodes: a page's own request to the same path (page mode)
    is not taken for ours."""

    def matches(self, url: str, method: str) -> bool:
        parts = urlsplit(url)
        return (
            method == self.method
            and parts.netloc + parts.path == self.target
            and parts.query.startswith(self.query_head)
        )


@dataclass(eq=False)
class _Slot:
    context: Any
    page: Any
    generation: int
    created: float
    died: asyncio.Future[str]
    signed: int = 0
    replacing: bool = False
    expect: _Expect | None = None
    cdp: Any = None

    @property
    def dead(self) -> bool:
        return self.died.done()

    def kill(self, reason: str) -> None:
        if not self.died.done():
            self.died.set_result(reason)


def proxy_option(proxy: str) -> dict[str, str] | None:
    """`TTSIGN_PROXY` as Playwright's launch proxy (credentials split out of the URL; socks5h is socks5)."""
    if not proxy:
        return None
    parts = urlsplit(proxy)
    scheme = "socks5" if parts.scheme == "socks5h" else parts.scheme
    server = f"{scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    out = {"server": server}
    if parts.username:
        from urllib.parse import unquote

        out["username"] = unquote(parts.username)
        out["password"] = unquote(parts.password or "")
    return out


def _platform_for(user_agent: str) -> str:
    if "Windows" in user_agent:
        return "Win32"
    if "Macintosh" in user_agent or "Mac OS X" in user_agent:
        return "MacIntel" if "iPhone" not in user_agent and "iPad" not in user_agent else "iPhone"
    if "Android" in user_agent:
        return "Linux armv8l"
    return "Linux x86_64"


class BrowserPool:
    def __init__(self, options: PoolOptions) -> None:
        self.opts = options
        self._pw: Any = None
        self._browser: Any = None
        self._generation = 0
        self._idle: asyncio.Queue[_Slot] = asyncio.Queue()
        self._slots: set[_Slot] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._waiting = 0
        self._closing = False
        self._state = "stopped"  # stopped, up, restarting
        self.browser_version = ""
        self.user_agent = ""
        self.sdk: dict[str, SdkRecord] = {}
        self.signed = 0
        self.restarts = 0
        self.recycled = 0
        self.last_error = ""
        self.browser_pid: int | None = None

    # -- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        try:
            from playwright.async_api import async_playwright
        except ImportError:  # the provider checked already; a second line of defence
            raise ProviderError("unavailable", "the browser provider needs Playwright") from None
        self._closing = False
        self._pw = await async_playwright().start()
        try:
            await self._launch()
        except BaseException:
            await self.close()
            raise

    async def _launch(self) -> None:
        opts = self.opts
        args = list(LAUNCH_ARGS) + (list(PINNED_ARGS) if opts.pinned is not None else [])
        proxy = proxy_option(opts.proxy) if opts.pinned is None else None
        try:
            browser = await self._pw.chromium.launch(
                executable_path=opts.executable,
                headless=True,
                args=args,
                proxy=proxy,
                timeout=opts.load_timeout_s * 1000,
            )
        except Exception as exc:
            raise ProviderError(
                "unavailable", f"Chromium did not start ({opts.executable}): {_one_line(exc)}"
            ) from None
        self._generation += 1
        self._browser = browser
        self.browser_version = browser.version
        self.browser_pid = await _browser_pid(browser)
        browser.on("disconnected", lambda _b, gen=self._generation: self._on_disconnected(gen))
        if not self.user_agent:
            self.user_agent = opts.user_agent or await self._own_user_agent(browser)
        slots = await asyncio.gather(*(self._new_slot() for _ in range(opts.pages)), return_exceptions=True)
        errors = [s for s in slots if isinstance(s, BaseException)]
        if errors:
            for s in slots:
                if isinstance(s, _Slot):
                    await self._close_slot(s)
            raise (
                errors[0]
                if isinstance(errors[0], ProviderError)
                else ProviderError("unavailable", f"the SDK page did not load: {_one_line(errors[0])}")
            )
        for s in slots:
            assert isinstance(s, _Slot)
            self._idle.put_nowait(s)
        self._state = "up"

    async def _own_user_agent(self, browser: Any) -> str:
        """The browser's own UA, as a headed Chrome would send it (`HeadlessChrome/` is a bot tell)."""
        session = await browser.new_browser_cdp_session()
        try:
            version = await session.send("Browser.getVersion")
        finally:
            await session.detach()
        return str(version["userAgent"]).replace("HeadlessChrome/", "Chrome/")

    async def close(self) -> None:
        """Close every page, the browser and Playwright's driver. Safe to call twice."""
        self._closing = True
        self._state = "stopped"
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        for slot in list(self._slots):
            slot.kill("closed")
        browser, self._browser = self._browser, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.close()
        self._slots.clear()
        pw, self._pw = self._pw, None
        if pw is not None:
            with contextlib.suppress(Exception):
                await pw.stop()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_disconnected(self, generation: int) -> None:
        if self._closing or generation != self._generation:
            return
        self.last_error = "the browser disconnected (crashed or was killed)"
        _log.warning("browser provider: %s; relaunching", self.last_error)
        self._state = "restarting"
        for slot in list(self._slots):
            slot.kill("browser crashed")
        self._slots.clear()
        self._spawn(self._relaunch())

    async def _relaunch(self) -> None:
        delay = 0.5
        while not self._closing:
            old, self._browser = self._browser, None
            if old is not None:
                with contextlib.suppress(Exception):
                    await old.close()
            try:
                await self._launch()
            except Exception as err:  # ProviderError, or anything Playwright raised: try again later
                self.last_error = (
                    f"relaunch failed: {err.message if isinstance(err, ProviderError) else _one_line(err)}"
                )
                _log.warning("browser provider: %s", self.last_error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            self.restarts += 1
            return

    # -- pages -----------------------------------------------------------------------------------
    async def _new_slot(self) -> _Slot:
        opts = self.opts
        loop = asyncio.get_running_loop()
        context_opts: dict[str, Any] = {}
        if opts.device_scale_factor is not None:
            context_opts["device_scale_factor"] = opts.device_scale_factor
        context = await self._browser.new_context(**context_opts)
        try:
            page = await context.new_page()
            slot = _Slot(context, page, self._generation, time.monotonic(), loop.create_future())
            cdp = await context.new_cdp_session(page)
            ua = self.user_agent
            await cdp.send(
                "Emulation.setUserAgentOverride", {"userAgent": ua, "platform": opts.platform or _platform_for(ua)}
            )
            slot.cdp = cdp  # kept attached: detaching a session drops its UA override
            page.on("crash", lambda _p: self._on_crash(slot))
            if opts.freeze_ms is not None:
                await page.add_init_script(freeze_script(opts.freeze_ms))
            await page.add_init_script(SEND_SCRIPT)
            if opts.pinned is not None:
                await self._load_pinned(slot, opts.pinned)
            else:
                await self._load_page(slot)
            self.user_agent = await page.evaluate("() => navigator.userAgent")
            slot.created = time.monotonic()  # its age counts from when it is ready
        except BaseException:
            with contextlib.suppress(Exception):
                await context.close()
            raise
        self._slots.add(slot)
        return slot

    async def _load_pinned(self, slot: _Slot, sdk: PinnedSdk) -> None:
        page, opts = slot.page, self.opts
        sdk_path = PINNED_SDK_PATH + sdk.name

        async def route(route: Any, request: Any) -> None:
            if self._capture(slot, request):
                await route.abort()
            elif request.is_navigation_request():
                await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=BLANK_PAGE)
            elif urlsplit(request.url).path == sdk_path:
                await route.fulfill(status=200, content_type="application/javascript", body=sdk.body)
            else:
                await route.abort()  # the SDK's own reports and anything else: nothing leaves the machine

        await page.route("**/*", route)
        timeout = opts.load_timeout_s * 1000
        await page.goto(opts.page_url, timeout=timeout)
        if opts.ms_token is not None:
            await page.evaluate("t => localStorage.setItem('xmst', t)", opts.ms_token)
        await page.add_script_tag(url=sdk_path)
        await page.evaluate("o => byted_acrawler.init(o)", INIT_OPTIONS)
        self.sdk = {sdk.source: sdk.record}

    async def _load_page(self, slot: _Slot) -> None:
        """Production: TikTok's own page (through the proxy) loads its current SDK; record what it ran."""
        page, opts = slot.page, self.opts

        async def capture(route: Any, request: Any) -> None:
            self._capture(slot, request)
            await route.abort()

        def wanted(url: str) -> bool:
            exp = slot.expect
            if exp is None or exp.future.done():
                return False
            parts = urlsplit(url)
            return exp.target == parts.netloc + parts.path and parts.query.startswith(exp.query_head)

        async def record(response: Any) -> None:
            if response.request.resource_type != "script" or not is_sdk_script(response.url):
                return
            with contextlib.suppress(Exception):
                body = await response.body()
                self.sdk.pop(response.url, None)
                self.sdk[response.url] = SdkRecord.of(response.url, body)
                while len(self.sdk) > SDK_RECORDS:  # the newest few: a page rotates builds over months
                    self.sdk.pop(next(iter(self.sdk)))

        page.on("response", record)
        await page.route(wanted, capture)
        timeout = opts.load_timeout_s * 1000
        await page.goto(opts.page_url, wait_until="domcontentloaded", timeout=timeout)
        try:
            await page.wait_for_function(
                "() => window.byted_acrawler && typeof window.byted_acrawler.frontierSign === 'function'",
                timeout=timeout,
            )
            for _ in range(40):  # the response handler reads the script's body as a task of its own
                if any(is_sdk_script(url) for url in self.sdk):
                    break
                await asyncio.sleep(0.05)
        except Exception:
            raise ProviderError(
                "unavailable",
                f"{opts.page_url} loaded no TikTok SDK (window.byted_acrawler) within {opts.load_timeout_s:g} s",
            ) from None

    def _capture(self, slot: _Slot, request: Any) -> bool:
        exp = slot.expect
        if exp is None or exp.future.done() or not exp.matches(request.url, request.method):
            return False
        exp.future.set_result(Captured(request.url, dict(request.headers)))
        return True

    def _on_crash(self, slot: _Slot) -> None:
        self.last_error = "a page crashed"
        _log.warning("browser provider: a page crashed; replacing it")
        slot.kill("page crashed")
        self._replace(slot)

    def _replace(self, slot: _Slot) -> None:
        if slot.replacing or self._closing:
            return
        slot.replacing = True
        slot.kill("replaced")
        self._slots.discard(slot)
        self._spawn(self._renew(slot))

    async def _renew(self, old: _Slot) -> None:
        await self._close_slot(old)
        delay = 0.2
        while not self._closing and old.generation == self._generation and self._state == "up":
            try:
                fresh = await self._new_slot()
            except Exception as exc:
                self.last_error = f"a new page did not load: {_one_line(exc)}"
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            if fresh.generation != self._generation:
                await self._close_slot(fresh)
                return
            self._idle.put_nowait(fresh)
            return

    async def _close_slot(self, slot: _Slot) -> None:
        self._slots.discard(slot)
        with contextlib.suppress(Exception):
            await slot.context.close()

    # -- a call ----------------------------------------------------------------------------------
    async def send(self, kind: str, url: str, method: str, body: str | None) -> Captured:
        """Have a page send `method url` (`kind` fetch or xhr) and capture what the SDK's hook makes of it.

        The whole call (queue included) is bounded by `timeout_s`. Raises `ProviderError`.
        """
        if self._state != "up":
            why = "restarting after a crash" if self._state == "restarting" else "not started"
            raise ProviderError("unavailable", f"the browser is {why}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.opts.timeout_s
        slot = await self._acquire(deadline)
        broken = False
        try:
            return await self._send_on(slot, kind, url, method, body, deadline)
        except ProviderError as err:
            broken = err.kind in ("timeout", "crashed", "error")
            raise
        finally:
            self._release(slot, broken)

    async def _acquire(self, deadline: float) -> _Slot:
        if self._idle.empty() and self._waiting >= self.opts.queue:
            raise ProviderError("overloaded", f"the browser queue is full ({self.opts.queue} calls waiting)")
        self._waiting += 1
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    slot = await self._idle.get()
                    if not slot.dead and slot.generation == self._generation:
                        return slot
        except TimeoutError:
            raise ProviderError("timeout", f"no browser page was free within {self.opts.timeout_s:g} s") from None
        finally:
            self._waiting -= 1

    async def _send_on(
        self, slot: _Slot, kind: str, url: str, method: str, body: str | None, deadline: float
    ) -> Captured:
        loop = asyncio.get_running_loop()
        parts = urlsplit(url)
        head = _PLAIN.match(parts.query)
        expect = _Expect(parts.netloc + parts.path, method, loop.create_future(), head.group(0) if head else "")
        slot.expect = expect
        evaluation = loop.create_task(
            slot.page.evaluate("([k, u, m, b]) => window.__ttsignSend(k, u, m, b)", [kind, url, method, body])
        )
        evaluation.add_done_callback(_consume)
        try:
            async with asyncio.timeout_at(deadline):
                await asyncio.wait({evaluation, slot.died}, return_when=asyncio.FIRST_COMPLETED)
            if slot.dead:
                raise ProviderError("crashed", f"the browser page died during the call ({slot.died.result()})")
            message = evaluation.result()
        except TimeoutError:
            raise ProviderError("timeout", f"the browser page did not sign within {self.opts.timeout_s:g} s") from None
        except ProviderError:
            raise
        except Exception as exc:  # Playwright's Error: target closed, crashed ...
            if slot.dead or self._state != "up":
                raise ProviderError("crashed", f"the browser died during the call: {_one_line(exc)}") from None
            raise ProviderError("error", f"the browser page failed: {_one_line(exc)}") from None
        finally:
            slot.expect = None
            if not evaluation.done():
                evaluation.cancel()
        if expect.future.done():
            slot.signed += 1
            self.signed += 1
            return expect.future.result()
        raise ProviderError("error", f"the page sent no request: {message or 'the SDK hook dropped it'}")

    def _release(self, slot: _Slot, broken: bool) -> None:
        if self._closing or slot.generation != self._generation:
            return
        age = time.monotonic() - slot.created
        if broken or slot.dead or slot.signed >= self.opts.recycle_after or age >= self.opts.recycle_s:
            if not broken and not slot.dead:
                self.recycled += 1
            self._replace(slot)
            return
        self._idle.put_nowait(slot)

    # -- facts -----------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def live_pages(self) -> int:
        return sum(1 for s in self._slots if not s.dead and s.generation == self._generation)

    @property
    def waiting(self) -> int:
        return self._waiting

    def pages_for_tests(self) -> list[Any]:
        """The live pages (tests crash or stall one)."""
        return [s.page for s in self._slots if not s.dead and s.generation == self._generation]


def _consume(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


async def _browser_pid(browser: Any) -> int | None:
    """Chromium's main process id (SystemInfo.getProcessInfo's browser entry), for the crash tests."""
    with contextlib.suppress(Exception):
        session = await browser.new_browser_cdp_session()
        try:
            info = await session.send("SystemInfo.getProcessInfo")
        finally:
            await session.detach()
        for proc in info.get("processInfo", []):
            if proc.get("type") == "browser":
                return int(proc["id"])
    return None
