"""Check 1, agreement, against TikTok's own SDK (npm tiktok-signature@4.3.6, build 2.0.0.485, pinned, served
locally) in Debian's Chromium: a native signer configured like that build agrees on every URL; one that
differs (another env code, another X-Gnarly version) is a `drift` naming the fields; through the cycle, the
drift opens once and recovers when native agrees again. One browser for the module."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio

from tests.providers.sdk_files import require_chromium, sdk_file
from ttsign.monitor import agreement, cycle
from ttsign.monitor.bus import EventBus
from ttsign.monitor.model import Event
from ttsign.monitor.state import MonitorState
from ttsign.providers.browser import BrowserProvider
from ttsign.providers.chain import ProviderChain
from ttsign.providers.native import NativeProvider
from ttsign.signing.service import SigningService
from ttsign.signing.signer import Signer, SignerOptions

pytestmark = pytest.mark.asyncio(loop_scope="module")

SDK = "webmssdk_2.0.0.485.js"
LIKE_THE_SDK = SignerOptions(gnarly_version="5.1.3", ub_code=14)  # 5.1.3-ZTCA, scm 2.0.0.485; this browser's ub


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def chain() -> AsyncIterator[ProviderChain]:
    require_chromium()
    browser = BrowserProvider(Signer(), sdk=str(sdk_file(SDK)), page_url="https://www.tiktok.com/@tiktok/live", pages=1)
    c = ProviderChain([NativeProvider(SigningService(Signer(LIKE_THE_SDK))), browser])
    await c.start()
    yield c
    await c.close()


def services(chain: ProviderChain, options: SignerOptions = LIKE_THE_SDK) -> Any:
    return SimpleNamespace(
        providers=chain, signer=Signer(options), events=EventBus(), monitor=MonitorState(), settings=None
    )


async def test_a_native_signer_like_the_sdk_agrees(chain: ProviderChain) -> None:
    started = time.perf_counter()
    result = await agreement.check(services(chain))
    took = time.perf_counter() - started
    assert result.outcome == "ok", result.evidence
    rows = result.evidence["urls"]
    assert [r["case"] for r in rows] == ["item_list", "user_detail", "webcast", "room"]
    assert [r["path"] for r in rows] == [
        "/api/post/item_list/",
        "/api/user/detail/",
        "/webcast/room/enter/",
        "/api/live/detail/",
    ]
    assert all(r["diff"] == {} for r in rows) and result.events == []
    print(
        f"\nagreement check, 4 URLs: {took * 1000:.0f} ms; per URL browser/native ms:",
        [(r["browser_ms"], r["native_ms"]) for r in rows],
    )


async def test_another_env_code_is_a_drift_naming_it(chain: ProviderChain) -> None:
    result = await agreement.check(services(chain, SignerOptions(gnarly_version="5.1.3", ub_code=14, env_code=129)))
    assert result.outcome == "drift"
    (event,) = result.events
    assert event.kind == "drift" and event.key == "agreement" and event.severity == "critical"
    assert event.detail["fields"] == ["X-Gnarly.env_code"]
    assert set(event.detail["urls"]) == {"item_list", "user_detail", "webcast", "room"}
    assert event.detail["urls"]["item_list"]["diff"] == {"X-Gnarly.env_code": [129, 65]}
    assert event.detail["lines"]["room"] == ["X-Gnarly.env_code: native 129, browser 65"]
    assert "X-Gnarly.env_code" in event.title


async def test_another_gnarly_version_is_a_drift_naming_layout_version_and_order(chain: ProviderChain) -> None:
    result = await agreement.check(services(chain, SignerOptions(gnarly_version="5.3.2", ub_code=14)))
    assert result.outcome == "drift"
    diff = result.events[0].detail["urls"]["user_detail"]["diff"]
    assert diff["X-Gnarly.payload_version"] == ["5.3.2", "5.1.3-ZTCA"]
    assert diff["X-Gnarly.layout"] == ["x-gnarly-5.3.2", "x-gnarly-5.1.3"]
    assert diff["order"] == [["X-Dynosaur", "msToken", "X-Bogus(stub)", "X-Gnarly"], ["msToken", "X-Bogus", "X-Gnarly"]]
    assert diff["tokens"] == [["X-Bogus(stub)", "X-Dynosaur"], ["X-Bogus"]]
    assert "X-Gnarly.scm_version" in diff  # 5.3.2's SDK build field against 5.1.3's sdk_version


async def test_through_the_cycle_a_drift_opens_once_and_recovers(chain: ProviderChain) -> None:
    s = services(chain, SignerOptions(gnarly_version="5.1.3", ub_code=4))
    seen: list[Event] = []

    async def sink(e: Event) -> None:
        seen.append(e)

    s.events.subscribe(sink)
    only = [("agreement", "ttsign.monitor.agreement")]
    first = await cycle.run_cycle(s, checks=only)
    second = await cycle.run_cycle(s, checks=only)
    assert first.outcome == second.outcome == "drift"
    assert [e.kind for e in seen] == ["drift"] and s.monitor.active["agreement"].detail["fields"] == [
        "X-Gnarly.ub_code"
    ]
    s.signer = Signer(LIKE_THE_SDK)  # native fixed
    third = await cycle.run_cycle(s, checks=only)
    assert third.outcome == "ok" and [e.kind for e in seen] == ["drift", "recovery"]
    assert s.monitor.active == {} and s.monitor.last_drift is seen[0]
    print(f"\ncycle (agreement only): {third.duration_s * 1000:.0f} ms")


async def test_no_browser_is_skipped_and_a_browser_that_cannot_sign_is_a_failure() -> None:
    native_only = ProviderChain([NativeProvider(SigningService(Signer()))])
    skipped = await agreement.check(services(native_only))
    assert skipped.outcome == "skipped" and "no browser provider" in skipped.evidence["reason"]
    stopped = BrowserProvider(Signer(), sdk="unused.js")  # never started: it refuses every call
    broken = ProviderChain([NativeProvider(SigningService(Signer())), stopped])
    failed = await agreement.check(services(broken))
    assert failed.outcome == "fail" and failed.events == []
    assert "could not sign item_list" in failed.evidence["error"] and "not started" in failed.evidence["error"]
