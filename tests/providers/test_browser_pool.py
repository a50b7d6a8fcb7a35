"""The browser provider's page pool: the bounded queue (`overloaded`), the per-call timeout, recycling after N
signatures and after T minutes, restart after a page crash and after a browser crash (the in-flight call
fails `crashed`), and clean shutdown: no Chromium process outlives `close()`, a page crash, a browser crash,
or SIGTERM of a server process running the provider.

A page is "stalled" by replacing the page's sender (`window.__ttsignSend`) with one that never resolves:
the call is then in flight for as long as the test wants.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.providers.sdk_files import ROOT, chromium_processes, require_chromium, sdk_file, still_running
from ttsign.providers.base import ProviderError, SignJob
from ttsign.providers.browser import BrowserProvider
from ttsign.signing.policy import parse_url
from ttsign.signing.signer import Signer

SDK = "webmssdk_1.0.0.368.js"
URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=35&cursor=0&device_id=7368712345678901234"
JOB = SignJob(url=URL, parsed=parse_url(URL))
STALL = "() => { window.__ttsignSend = () => new Promise(() => {}); }"


@pytest_asyncio.fixture
async def make() -> AsyncIterator[Callable[..., Awaitable[BrowserProvider]]]:
    require_chromium()
    made: list[BrowserProvider] = []

    async def build(**kw: Any) -> BrowserProvider:
        kw.setdefault("pages", 1)
        kw.setdefault("timeout_s", 3.0)
        p = BrowserProvider(Signer(), sdk=str(sdk_file(SDK)), page_url="https://www.tiktok.com/@tiktok/live", **kw)
        made.append(p)
        await p.start()
        return p

    yield build
    for p in made:
        await p.close()


def pool(p: BrowserProvider) -> Any:
    assert p.pool is not None
    return p.pool


async def stall(p: BrowserProvider) -> None:
    for page in pool(p).pages_for_tests():
        await page.evaluate(STALL)


async def until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_bounded_queue_overloaded_and_per_call_timeout(make: Callable[..., Awaitable[BrowserProvider]]) -> None:
    p = await make(queue=1, timeout_s=1.0)
    await stall(p)
    first = asyncio.create_task(p.sign(JOB))  # takes the only page, which never answers
    await asyncio.sleep(0.1)
    second = asyncio.create_task(p.sign(JOB))  # waits in the queue (room for one)
    await asyncio.sleep(0.1)
    assert p.info()["queue"] == 1
    with pytest.raises(ProviderError) as full:
        await p.sign(JOB)
    assert full.value.kind == "overloaded"
    started = time.monotonic()
    for task in (first, second):
        with pytest.raises(ProviderError) as late:
            await task
        assert late.value.kind == "timeout"
    assert time.monotonic() - started < 3.0  # bounded by the 1 s deadline, not by the stalled page
    # the stalled page was replaced: the next call signs
    await until(lambda: p.info()["pages"] == 1)
    assert (await p.sign(JOB)).request.tokens["X-Bogus"]


async def test_recycles_after_n_signatures_and_after_t_minutes(make: Callable[..., Awaitable[BrowserProvider]]) -> None:
    p = await make(recycle_after=2, recycle_minutes=0.02)  # 1.2 s
    page = pool(p).pages_for_tests()[0]
    await p.sign(JOB)
    assert pool(p).pages_for_tests() == [page]
    await p.sign(JOB)  # the second signature: replaced
    await until(lambda: pool(p).pages_for_tests() not in ([], [page]))
    assert p.info()["recycled"] == 1
    assert page.is_closed()
    (page,) = pool(p).pages_for_tests()
    assert (await p.sign(JOB)).request.tokens["X-Gnarly"]  # one signature on the fresh page
    assert pool(p).pages_for_tests() == [page]
    await asyncio.sleep(1.3)
    await p.sign(JOB)  # one more, past its age: replaced
    await until(lambda: pool(p).pages_for_tests() not in ([], [page]))
    assert p.info()["recycled"] == 2 and page.is_closed()


async def test_page_crash_fails_the_call_then_a_new_page_signs(make: Callable[..., Awaitable[BrowserProvider]]) -> None:
    p = await make(timeout_s=10.0)
    seen = set(chromium_processes())
    await stall(p)
    page = pool(p).pages_for_tests()[0]
    call = asyncio.create_task(p.sign(JOB))
    await asyncio.sleep(0.1)
    session = await page.context.new_cdp_session(page)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(session.send("Page.crash"), 1.0)
    started = time.monotonic()
    with pytest.raises(ProviderError) as err:
        await call
    assert err.value.kind == "crashed"
    assert time.monotonic() - started < 5.0  # at once, not at the 10 s deadline
    await until(lambda: pool(p).pages_for_tests() not in ([], [page]))
    assert (await p.sign(JOB)).request.tokens["X-Bogus"]
    assert p.info()["restarts"] == 0  # the browser itself lived on
    assert "crashed" in p.info()["last_error"]
    seen |= set(chromium_processes())
    await p.close()
    assert still_running(sorted(seen)) == []


async def test_browser_crash_fails_the_call_then_relaunches(make: Callable[..., Awaitable[BrowserProvider]]) -> None:
    p = await make(timeout_s=10.0, pages=2)
    seen = set(chromium_processes())
    assert seen
    await stall(p)
    call = asyncio.create_task(p.sign(JOB))
    await asyncio.sleep(0.1)
    pid = pool(p).browser_pid
    assert pid in seen
    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(ProviderError) as err:
        await call
    assert err.value.kind == "crashed"
    assert time.monotonic() - started < 5.0  # at once, not at the 10 s deadline
    with pytest.raises(ProviderError) as down:  # while it relaunches: a quick "unavailable", not a wait
        await p.sign(JOB)
    assert down.value.kind in ("unavailable", "crashed")
    await until(lambda: p.info()["restarts"] == 1 and p.info()["pages"] == 2)
    assert pool(p).browser_pid != pid
    assert (await p.sign(JOB)).request.tokens["X-Bogus"]
    seen |= set(chromium_processes())
    await p.close()
    assert still_running(sorted(seen)) == []


async def test_close_leaves_no_chromium(make: Callable[..., Awaitable[BrowserProvider]]) -> None:
    p = await make(pages=2)
    await p.sign(JOB)
    seen = chromium_processes()
    assert len(seen) >= 2  # the browser and at least one renderer
    await p.close()
    assert still_running(seen) == []
    await p.close()  # twice is fine
    with pytest.raises(ProviderError) as err:
        await p.sign(JOB)
    assert err.value.kind == "unavailable"


SERVER = textwrap.dedent(
    """
    # A server process running the browser provider, shut down as `ttsign serve` is: uvicorn turns SIGTERM
    # into the app's lifespan shutdown, which closes the provider.
    import sys
    from contextlib import asynccontextmanager

    import uvicorn
    from fastapi import FastAPI

    from tests.providers.sdk_files import chromium_processes, still_running
    from ttsign.providers.browser import BrowserProvider
    from ttsign.signing.signer import Signer

    provider = BrowserProvider(Signer(), sdk=sys.argv[1], page_url="https://www.tiktok.com/@tiktok/live", pages=2)

    @asynccontextmanager
    async def lifespan(app):
        await provider.start()
        seen = chromium_processes()
        print("ready", flush=True)
        yield
        await provider.close()
        # what the shutdown itself left running, before this process exits (and Playwright's driver with it)
        print("closed", len(still_running(seen)), flush=True)

    uvicorn.run(FastAPI(lifespan=lifespan), host="127.0.0.1", port=0, log_level="warning")
    """
)


def test_sigterm_of_a_server_process_leaves_no_chromium(tmp_path: Path) -> None:
    require_chromium()
    script = tmp_path / "server.py"
    script.write_text(SERVER, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(sdk_file(SDK))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
        seen = chromium_processes(proc.pid)
        assert len(seen) >= 2
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        # uvicorn ends the process by its signal once the lifespan shutdown ran (as `ttsign serve` does)
        assert proc.returncode in (0, -signal.SIGTERM), err
        assert "closed 0" in out, (out, err)
        assert still_running(seen) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
