"""Shadow comparison: a different native payload version or env code is a disagreement naming the field;
identical configurations agree; the background task never delays or fails the caller's answer."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from tests.providers.chain_doubles import API, ROOM, WEBCAST, Events, Scripted, job
from ttsign.providers.chain import ProviderChain
from ttsign.providers.shadow import Shadow, compare
from ttsign.signing.service import SigningService
from ttsign.signing.signer import Signer, SignerOptions


def signed(url: str = API, **options: object) -> object:
    service = SigningService(Signer(SignerOptions(**options)))  # type: ignore[arg-type]
    return service.sign(url, "GET", b"", None, None)


@pytest.mark.parametrize("url", [API, ROOM, WEBCAST])
def test_identical_configurations_agree(url: str) -> None:
    for _ in range(40):  # fresh identities, nonces, timestamps, record orders: still no difference
        assert compare(signed(url), signed(url)) == {}  # type: ignore[arg-type]


def test_a_different_payload_version_is_named() -> None:
    diff = compare(signed(gnarly_version="5.3.2"), signed(gnarly_version="5.1.3"))  # type: ignore[arg-type]
    assert diff["tokens"] == (["X-Dynosaur", "X-Bogus(stub)", "X-Gnarly"], ["X-Bogus", "X-Gnarly"])
    assert diff["X-Gnarly.payload_version"] == ("5.3.2", "5.1.3-ZTCA")
    assert diff["X-Gnarly.sdk_version"] == ("5.3.2", "2.0.0.485")
    assert "X-Gnarly.fields" in diff and "X-Gnarly.widths" in diff


def test_another_browser_user_agent_is_no_disagreement() -> None:
    firefox = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:157.0) Gecko/20100101 Firefox/157.0"
    for url in (API, ROOM):
        ours = SigningService(Signer()).sign(url, "POST", b"x=1")
        theirs = SigningService(Signer()).sign(url, "POST", b"x=1", firefox)
        assert compare(ours, theirs) == {}


def test_a_different_env_code_is_named_and_nothing_else() -> None:
    diff = compare(signed(env_code=65), signed(env_code=66))  # type: ignore[arg-type]
    assert diff == {"X-Dynosaur.env_code": (65, 66), "X-Gnarly.env_code": (65, 66)}
    diff = compare(signed(ROOM, ub_code=8), signed(ROOM, ub_code=9))  # type: ignore[arg-type]
    assert diff == {}  # classic X-Bogus carries no ub code


async def test_the_chain_shadows_a_sample_with_the_next_provider(caplog: pytest.LogCaptureFixture) -> None:
    events = Events()
    native = Scripted("native", options=SignerOptions(gnarly_version="5.1.3"))
    browser = Scripted("browser", options=SignerOptions(gnarly_version="5.3.2"))
    shadow = Shadow(1.0, events)
    c = ProviderChain([native, browser], events=events, shadow=shadow)
    with caplog.at_level(logging.WARNING, logger="ttsign.providers"):
        for _ in range(3):
            answer = await c.sign(job())
            assert answer.provider == "native"
        await shadow.drain()
    assert browser.calls == 3
    assert [s[:3] for s in events.shadows] == [("native", "browser", "disagree")] * 3
    assert "X-Gnarly.payload_version" in events.shadows[0][3]
    report = c.shadow_report()
    assert report["compared"] == 3 and report["disagreed"] == 3 and report["agreed"] == 0
    assert report["kinds"]["X-Gnarly.payload_version"] == 3
    last = report["recent"][-1]
    assert last["provider"] == "native" and last["other"] == "browser" and last["path"] == "/api/post/item_list/"
    assert last["fields"]["X-Gnarly.payload_version"] == {"native": "5.1.3-ZTCA", "browser": "5.3.2"}
    logged = [r.getMessage() for r in caplog.records if "disagree" in r.getMessage()]
    assert len(logged) == 1 and "X-Gnarly.payload_version: '5.1.3-ZTCA' vs '5.3.2'" in logged[0]  # once per kind


async def test_agreement_is_counted_and_the_last_provider_is_not_shadowed() -> None:
    events = Events()
    shadow = Shadow(1.0, events)
    native, browser = Scripted("native", "error"), Scripted("browser")
    c = ProviderChain([native, browser], events=events, shadow=shadow)
    await c.sign(job())  # browser signed: nobody after it
    await shadow.drain()
    assert c.shadow_report()["sampled"] == 0
    native.mode = "ok"
    await c.sign(job())
    await shadow.drain()
    assert events.shadows == [("native", "browser", "agree", ())]
    for _ in range(5):  # the browser's breaker opens: no shadow traffic for it
        c.breakers["browser"].failure("error", "down")
    await c.sign(job())
    assert c.shadow_report()["sampled"] == 1 and shadow.in_flight == 0


async def test_the_shadow_never_delays_or_fails_the_answer() -> None:
    events = Events()
    shadow = Shadow(1.0, events, max_in_flight=2)
    native, browser = Scripted("native"), Scripted("browser", "hang", hang_s=30)
    c = ProviderChain([native, browser], events=events, shadow=shadow)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for _ in range(5):
        assert (await c.sign(job())).provider == "native"
    assert loop.time() - t0 < 1.0
    report = c.shadow_report()
    assert report["in_flight"] == 2 and report["dropped"] == 3  # bounded: the rest were dropped
    await c.close()  # cancels the shadows in flight
    assert shadow.in_flight == 0
    browser.mode = "error"
    await c.sign(job())
    await shadow.drain()
    assert events.shadows[-1] == ("native", "browser", "failed", ())


async def test_sampling_follows_the_rate() -> None:
    shadow = Shadow(0.25, rng=random.Random(7))
    picks = sum(shadow.sampled() for _ in range(4000))
    assert 900 < picks < 1100
    assert not Shadow(0.0).sampled()
