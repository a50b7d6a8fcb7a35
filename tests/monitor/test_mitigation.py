"""The automatic response (`ttsign.monitor.mitigation`): a drift demotes native behind the browser until every
drift has recovered; every provider failing turns maintenance on until the outage recovers (an operator's
switch is never undone); each action and reversal is an event; TTSIGN_MONITOR_MITIGATE and
TTSIGN_MONITOR_OUTAGE_MAINTENANCE switch them off. Plus the chain's demote/restore."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from tests.providers.chain_doubles import Scripted, job
from ttsign.monitor.bus import EventBus
from ttsign.monitor.maintenance import MaintenanceFlag
from ttsign.monitor.mitigation import DEMOTE_KEY, MAINTENANCE_KEY, Mitigation
from ttsign.monitor.model import Event
from ttsign.providers.breaker import BreakerPolicy
from ttsign.providers.chain import ProviderChain, UnknownProvider
from ttsign.server.app import create_app

DRIFT = Event("drift", "agreement:/api/post/item_list/", "critical", "X-Gnarly differs: version")
DRIFT2 = Event("drift", "agreement:/api/user/detail/", "critical", "X-Gnarly differs: version")
OUTAGE = Event("provider_outage", "providers:all", "high", "every signing provider is failing")


def recovery(event: Event) -> Event:
    return Event("recovery", event.key, "info", "cleared")


def world(names: tuple[str, ...] = ("native", "browser"), **kw: Any) -> SimpleNamespace:
    bus = EventBus()
    chain = ProviderChain([Scripted(n) for n in names])
    svc = SimpleNamespace(events=bus, providers=chain, maintenance=MaintenanceFlag(emit=bus.emit))
    svc.mitigation = Mitigation(svc, **kw)
    bus.subscribe(svc.mitigation.on_event)
    return svc


def actions(svc: SimpleNamespace) -> list[tuple[str, str]]:
    return [(e.kind, e.key) for e in svc.events.recent if e.key.startswith("mitigation:")]


def test_the_chain_demotes_and_restores_a_provider() -> None:
    chain = ProviderChain([Scripted("native"), Scripted("browser"), Scripted("remote")])
    assert chain.demote("native", behind="browser") is True
    assert chain.order() == ["browser", "native", "remote"]
    assert chain.demote("native", behind="browser") is False  # already there
    assert chain.demote("browser") is True and chain.order() == ["native", "remote", "browser"]
    assert chain.restore("browser") is True and chain.order() == ["browser", "native", "remote"]
    assert chain.restore("native") is True and chain.order() == ["native", "browser", "remote"]
    assert chain.restore("native") is False
    with pytest.raises(UnknownProvider):
        chain.demote("native", behind="nothing")
    assert [r["name"] for r in chain.describe()] == ["native", "browser", "remote"]


async def test_a_demoted_provider_signs_only_after_the_one_it_follows() -> None:
    native, browser = Scripted("native"), Scripted("browser")
    chain = ProviderChain([native, browser])
    assert (await chain.sign(job())).provider == "native"
    chain.demote("native", behind="browser")
    assert (await chain.sign(job())).provider == "browser"
    browser.mode = "error"
    answer = await chain.sign(job())
    assert answer.provider == "native" and answer.failures[0][0] == "browser"
    chain.restore("native")
    assert (await chain.sign(job())).provider == "native"


async def test_a_drift_demotes_native_until_every_drift_has_recovered() -> None:
    svc = world()
    await svc.events.emit(DRIFT)
    assert svc.providers.order() == ["browser", "native"]
    assert (await svc.providers.sign(job())).provider == "browser"
    await svc.events.emit(DRIFT2)
    await svc.events.emit(recovery(DRIFT))
    assert svc.providers.order() == ["browser", "native"]  # one drift left
    await svc.events.emit(recovery(DRIFT2))
    assert svc.providers.order() == ["native", "browser"]
    assert actions(svc) == [("mitigation", DEMOTE_KEY), ("recovery", DEMOTE_KEY)]
    demoted = next(e for e in svc.events.recent if e.kind == "mitigation")
    assert demoted.detail["applied"] is True and demoted.detail["order"] == ["browser", "native"]
    assert demoted.detail["cause"] == DRIFT.key


async def test_without_a_browser_provider_the_drift_is_said_not_mitigated() -> None:
    svc = world(("native", "remote"))
    await svc.events.emit(DRIFT)
    assert svc.providers.order() == ["native", "remote"]
    (event,) = [e for e in svc.events.recent if e.kind == "mitigation"]
    assert event.detail["applied"] is False and "no browser provider" in event.title
    await svc.events.emit(recovery(DRIFT))
    assert actions(svc) == [("mitigation", DEMOTE_KEY)]  # nothing done, nothing to undo


async def test_every_provider_failing_turns_maintenance_on_until_the_outage_recovers() -> None:
    svc = world()
    await svc.events.emit(OUTAGE)
    state = svc.maintenance.current
    assert state.enabled and state.by == "automatic" and state.reason == OUTAGE.title
    assert len(state.message) >= 19
    await svc.events.emit(recovery(OUTAGE))
    assert not svc.maintenance.current.enabled
    assert actions(svc) == [("mitigation", MAINTENANCE_KEY), ("recovery", MAINTENANCE_KEY)]
    assert [e.kind for e in svc.events.recent if e.key == "maintenance"] == []  # not the operator's event


async def test_an_operators_maintenance_is_never_undone() -> None:
    svc = world()
    await svc.maintenance.set(True, "The operator's own maintenance message")
    await svc.events.emit(OUTAGE)
    assert svc.maintenance.current.by == "operator"
    await svc.events.emit(recovery(OUTAGE))
    assert svc.maintenance.current.enabled and svc.maintenance.current.by == "operator"
    # an operator switching during an automatic maintenance: theirs stands too
    svc2 = world()
    await svc2.events.emit(OUTAGE)
    await svc2.maintenance.set(True, "Keeping it on while I look into this")
    await svc2.events.emit(recovery(OUTAGE))
    assert svc2.maintenance.current.enabled and svc2.maintenance.current.by == "operator"


async def test_the_settings_switch_the_response_off() -> None:
    off = world(enabled=False)
    await off.events.emit(DRIFT)
    await off.events.emit(OUTAGE)
    assert off.providers.order() == ["native", "browser"] and not off.maintenance.current.enabled
    assert actions(off) == []
    no_maintenance = world(outage_maintenance=False)
    await no_maintenance.events.emit(OUTAGE)
    await no_maintenance.events.emit(DRIFT)
    assert not no_maintenance.maintenance.current.enabled
    assert no_maintenance.providers.order() == ["browser", "native"]


async def test_the_outage_probe_signs_through_the_chain_while_the_automatic_maintenance_lasts() -> None:
    bus = EventBus()
    native = Scripted("native", "error")
    chain = ProviderChain([native], breaker=BreakerPolicy(failures=1, cooldown_s=0.05))
    svc = SimpleNamespace(events=bus, providers=chain, maintenance=MaintenanceFlag(emit=bus.emit))
    mitigation = Mitigation(svc)
    mitigation.probe.interval_s = 0.02
    bus.subscribe(mitigation.on_event)
    await mitigation.start()
    try:
        await asyncio.sleep(0.1)
        assert native.calls == 0  # no outage: no probes
        await bus.emit(OUTAGE)
        await asyncio.sleep(0.2)
        assert native.calls >= 1  # probed while down (the breaker lets one through per cooldown)
        native.mode = "ok"
        for _ in range(50):
            if chain.breakers["native"].state == "closed":
                break
            await asyncio.sleep(0.02)
        assert chain.breakers["native"].state == "closed"  # its probe signed: the breaker closed
    finally:
        await mitigation.close()


def test_in_the_app_an_outage_pauses_signing_and_its_recovery_resumes_it() -> None:
    settings = make_settings(admin_keys="admin-key-for-tests-0123456789abcdef")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        svc = client.app.state.services  # type: ignore[attr-defined]
        url = "https://www.tiktok.com/api/x/?a=1"
        client.portal.call(svc.events.emit, OUTAGE)  # type: ignore[union-attr]
        r = client.post("/v1/sign", json={"url": url})
        assert r.status_code == 503 and "every signing provider" in r.json()["message"]
        assert client.get("/health").json()["maintenance"]["by"] == "automatic"
        client.portal.call(svc.events.emit, recovery(OUTAGE))  # type: ignore[union-attr]
        assert client.post("/v1/sign", json={"url": url}).status_code == 200
