"""Provider breakers as events (`ttsign.monitor.breaker_events`): a breaker opening is one `breaker_open`, its
re-opens are not new events, its closing is one `recovery`; every provider down is one `provider_outage`
and the first signed call its `recovery`; the fan-out keeps the metrics hearing everything. End to end: a
real chain in the app with `TTSIGN_PROVIDER_FAULTS` making native fail, alerting a local webhook."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.monitor.alert_receivers import Webhook, wait_for
from tests.providers.remote_servers import Misbehaving
from ttsign.config import Settings
from ttsign.monitor.breaker_events import OUTAGE_KEY, BreakerEvents, FanOut, attach
from ttsign.monitor.bus import EventBus
from ttsign.monitor.model import Event
from ttsign.providers.base import ProviderError, SignJob
from ttsign.providers.breaker import BreakerPolicy
from ttsign.providers.chain import AllProvidersFailed, ProviderChain
from ttsign.server.app import create_app
from ttsign.signing.policy import parse_url
from ttsign.signing.service import SigningResult

pytestmark = pytest.mark.timeout(60)

API_URL = (
    "https://www.tiktok.com/api/post/item_list/?aid=1988&app_name=tiktok_web&device_platform=web_pc"
    "&secUid=MS4wLjABAAAAbreakers&count=30&cursor=0"
)


class Recorder:
    """A bus double: the events emitted, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def emit(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[tuple[str, str]]:
        return [(e.kind, e.key) for e in self.events]


class Switch:
    """A provider that fails (`ProviderError('error')`) while `failing`, else raises a sentinel success."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failing = True
        self.result: SigningResult | None = None

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def sign(self, job: SignJob) -> SigningResult:
        if self.failing:
            raise ProviderError("error", f"{self.name} is switched off for the test")
        assert self.result is not None
        return self.result

    def info(self) -> dict[str, Any]:
        return {"name": self.name}


# -- the adapter alone --------------------------------------------------------------------------------------


async def test_an_open_is_one_event_reopens_are_not_and_closing_is_one_recovery() -> None:
    bus = Recorder()
    adapter = BreakerEvents(bus, ["native", "browser"], snapshot=lambda name: {"state": "open", "opens": 1})
    adapter.breaker("native", "open")
    adapter.breaker("native", "half_open")
    adapter.breaker("native", "open")  # the probe failed: the same condition
    adapter.breaker("native", "half_open")
    adapter.breaker("native", "closed")
    adapter.breaker("native", "closed")
    await adapter.drain()
    assert bus.kinds() == [("breaker_open", "breaker:native"), ("recovery", "breaker:native")]
    opened = bus.events[0]
    assert opened.severity == "medium" and opened.fingerprint and opened.detail["provider"] == "native"
    assert opened.detail["opens"] == 1


async def test_every_provider_down_is_one_outage_until_one_signs() -> None:
    bus = Recorder()
    adapter = BreakerEvents(bus, ["native", "browser"], down_after=3)
    adapter.breaker("native", "open")
    for _ in range(2):
        adapter.call("browser", "failed", "timeout", 0.1)
    await adapter.drain()
    assert bus.kinds() == [("breaker_open", "breaker:native")]  # the browser failed twice: not down yet
    adapter.call("browser", "failed", "timeout", 0.1)
    adapter.call("browser", "failed", "timeout", 0.1)
    await adapter.drain()
    assert bus.kinds()[1:] == [("provider_outage", OUTAGE_KEY)]  # once, not per failed call
    outage = bus.events[1]
    assert outage.severity == "high" and "breaker open" in outage.detail["native"]
    assert "3 failed calls in a row" in outage.detail["browser"]  # as it was when the outage began
    adapter.call("browser", "ok", "", 0.01)
    adapter.call("browser", "ok", "", 0.01)
    await adapter.drain()
    assert bus.kinds()[2:] == [("recovery", OUTAGE_KEY)]
    assert "browser" in bus.events[2].title


def test_the_fan_out_reaches_every_listener_even_past_one_that_raises() -> None:
    heard: list[tuple[str, ...]] = []

    class Listener:
        def call(self, *args: Any) -> None:
            heard.append(("call", *map(str, args)))

        def breaker(self, *args: Any) -> None:
            heard.append(("breaker", *args))

        def shadow(self, *args: Any) -> None:
            heard.append(("shadow", args[2]))

        def cache(self, outcome: str) -> None:
            heard.append(("cache", outcome))

    class Broken:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("a broken listener")

    fan = FanOut(Broken(), Listener())
    fan.call("native", "ok", "", 0.5)
    fan.breaker("native", "open")
    fan.shadow("native", "browser", "agree", ())
    fan.cache("hit")
    assert heard == [
        ("call", "native", "ok", "", "0.5"),
        ("breaker", "native", "open"),
        ("shadow", "agree"),
        ("cache", "hit"),
    ]


# -- a real chain -------------------------------------------------------------------------------------------


async def test_a_chain_attached_to_the_bus_reports_its_breakers_and_keeps_its_metrics() -> None:
    from ttsign.providers.native import NativeProvider
    from ttsign.signing.service import SigningService
    from ttsign.signing.signer import Signer

    heard: list[tuple[str, str]] = []

    class Metrics:
        def call(self, provider: str, outcome: str, kind: str, seconds: float) -> None:
            heard.append((provider, outcome))

        def breaker(self, provider: str, state: str) -> None:
            heard.append((provider, state))

        def shadow(self, *args: Any) -> None: ...

        def cache(self, outcome: str) -> None: ...

    first = Switch("first")
    native = NativeProvider(SigningService(Signer()))
    chain = ProviderChain(
        [first, native], events=Metrics(), breaker=BreakerPolicy(failures=2, window_s=30, cooldown_s=0.2)
    )
    bus = EventBus()
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    bus.subscribe(record)
    adapter = attach(chain, bus)
    assert attach(chain, bus) is adapter  # idempotent
    job = SignJob(API_URL, parse_url(API_URL))
    for _ in range(3):
        assert (await chain.sign(job)).provider == "native"
    await adapter.drain()
    assert [(e.kind, e.key) for e in seen] == [("breaker_open", "breaker:first")]
    assert "error: first is switched off" in seen[0].detail["last_error"]
    first.failing, first.result = False, (await native.sign(job))
    await asyncio.sleep(0.25)  # the cooldown is over: the next call probes
    assert (await chain.sign(job)).provider == "first"
    await adapter.drain()
    assert [(e.kind, e.key) for e in seen][1:] == [("recovery", "breaker:first")]
    assert ("first", "open") in heard and ("first", "closed") in heard and ("native", "ok") in heard

    first.failing = True  # now both fail: an outage
    native_sign = native.sign

    async def broken(job: SignJob) -> SigningResult:
        raise ProviderError("error", "native broken for the test")

    native.sign = broken  # type: ignore[method-assign]
    for _ in range(3):
        with pytest.raises(AllProvidersFailed):
            await chain.sign(job)
    await adapter.drain()
    kinds = [(e.kind, e.key) for e in seen][2:]
    assert ("provider_outage", OUTAGE_KEY) in kinds and kinds.count(("provider_outage", OUTAGE_KEY)) == 1
    native.sign = native_sign  # type: ignore[method-assign]
    await asyncio.sleep(0.25)  # both breakers opened: their cooldowns end, native's probe signs
    assert (await chain.sign(job)).provider == "native"
    await adapter.drain()
    assert (seen[-1].kind, seen[-1].key) == ("recovery", OUTAGE_KEY)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with Webhook() as hook:
        yield hook


def test_a_breaker_opening_in_the_app_is_one_alert_and_its_recovery_one_notice(webhook: Webhook) -> None:
    """TTSIGN_PROVIDER_FAULTS=native=error with a working remote behind it: native's breaker opens (one alert,
    however many calls skip it), the fault is lifted, the probe signs, the breaker closes (one notice)."""
    with Misbehaving("real") as remote:
        settings = Settings(
            providers="native,remote",
            provider_faults="native=error",
            remote_url=remote.url,
            remote_timeout_s=2.0,
            breaker_failures=2,
            breaker_window_s=30.0,
            breaker_cooldown_s=0.3,
            alert_urls=webhook.url("ops"),
            log_level="warning",
        )
        app = create_app(settings)
        with TestClient(app) as c:

            def sign() -> str:
                answer = c.post("/v1/sign", json={"url": API_URL})
                assert answer.status_code == 200, answer.text
                return str(answer.headers["X-Ttsign-Provider"])

            assert [sign() for _ in range(6)] == ["remote"] * 6  # native failed twice (K = 2), then skipped
            wait_for(lambda: len(webhook.messages) >= 1)
            time.sleep(0.2)
            assert webhook.titles == [
                "ttsign MEDIUM: provider native: breaker opened after repeated failures; calls skip it"
            ]
            body = webhook.messages[0]["message"]
            assert "breaker:native" in body and "injected fault error" in body

            faulty = app.state.services.providers.by_name["native"]
            faulty.sign = faulty.inner.sign  # the fault is lifted
            time.sleep(0.35)  # the cooldown is over: the next call is the probe
            assert sign() == "native"
            wait_for(lambda: len(webhook.messages) >= 2)
            assert [sign() for _ in range(3)] == ["native"] * 3
            time.sleep(0.2)
            titles = webhook.titles
            assert len(titles) == 2, titles
            assert titles[1].startswith("ttsign RECOVERED: provider native: breaker opened")
            assert "provider native: breaker closed, it signs again" in webhook.messages[1]["message"]
            described = app.state.services.alerts.describe()
            assert described["sent"] == 2 and described["active"] == []


def test_every_provider_failing_in_the_app_is_an_outage_alert(webhook: Webhook) -> None:
    settings = Settings(
        providers="native",
        provider_faults="native=error",
        breaker_failures=5,
        alert_urls=webhook.url("ops"),
        log_level="warning",
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        for _ in range(3):  # three failed calls: down before its breaker (K = 5) opens
            assert c.post("/v1/sign", json={"url": API_URL}).status_code == 503
        outage = "ttsign HIGH: every signing provider is failing: signing calls get 503 (or a cached answer)"
        wait_for(lambda: outage in webhook.titles)
        time.sleep(0.2)
        assert webhook.titles.count(outage) == 1  # (the automatic response may add its own, e.g. maintenance)
        assert "3 failed calls in a row" in webhook.messages[webhook.titles.index(outage)]["message"]
