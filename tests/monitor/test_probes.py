"""Check 4, live probes, against the offline fake: room lookup, ttwid, the socket handshake in every signing
mode, the first frame; each failure classified; a socket that now needs another mode is a `ws_mode_change`,
and with TTSIGN_WS_SIGNER=auto the server's own auto signer switches to the mode that worked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.fakes.tiktok import FAKE_ROOM_ID, FAKE_USER, OFFLINE_USER, FakeTikTok
from ttsign.config import Settings
from ttsign.monitor import cycle, probes
from ttsign.monitor.bus import EventBus
from ttsign.monitor.model import Event
from ttsign.monitor.state import MonitorState
from ttsign.signing.factory import make_ws_signer
from ttsign.tiktok.client import TikTokClient
from ttsign.tiktok.identity_pool import IdentityUnavailable
from ttsign.tiktok.rooms import RoomError
from ttsign.tiktok.webcast import DIRECT_ROUTE_PARAMS
from ttsign.tiktok.ws_modes import AutoWsSigner, ProbeOutcome

ONLY = [("live_probe", "ttsign.monitor.probes")]


def settings_for(fake: FakeTikTok, **over: Any) -> Settings:
    base: dict[str, Any] = dict(
        log_level="warning",
        tiktok_www=fake.base_url,
        ttwid_url=fake.ttwid_url,
        webcast_url=fake.webcast_url,
        ws_url=fake.ws_url,
        upstream_timeout_s=2.0,
        monitor_live_user=FAKE_USER,
    )
    return Settings(**(base | over))


class Harness(SimpleNamespace):
    seen: list[Event]


async def harness(fake: FakeTikTok, **over: Any) -> Harness:
    settings = settings_for(fake, **over)
    h = Harness(settings=settings, events=EventBus(), monitor=MonitorState(), seen=[])
    h.upstream = TikTokClient(settings, ws_signer=make_ws_signer(settings))

    async def sink(e: Event) -> None:
        h.seen.append(e)

    h.events.subscribe(sink)
    return h


@pytest.fixture
async def close_later() -> AsyncIterator[list[Harness]]:
    made: list[Harness] = []
    yield made
    for h in made:
        await h.upstream.close()


async def make(fake: FakeTikTok, close_later: list[Harness], **over: Any) -> Harness:
    h = await harness(fake, **over)
    close_later.append(h)
    return h


async def test_healthy(fake: FakeTikTok, close_later: list[Harness]) -> None:
    h = await make(fake, close_later)
    result = await probes.check(h)
    assert result.outcome == "ok", result.evidence
    ev = result.evidence
    assert [(s["step"], s["ok"]) for s in ev["steps"]] == [
        ("room", True),
        ("ttwid", True),
        ("socket", True),
        ("first_frame", True),
    ]
    assert ev["room_id"] == FAKE_ROOM_ID and ev["first_frame"] == "im_enter_room_resp"
    assert {m: r["class"] for m, r in ev["modes"].items()} == {"none": "ok", "x-bogus": "ok", "x-gnarly": "ok"}
    socks = fake.state()["sockets"]
    assert len(socks) == 4 and all(s["accepted"] for s in socks)  # 3 handshakes, then the first-frame socket
    assert {s["query"].get("X-Gnarly") is not None for s in socks[:3]} == {True, False}
    assert socks[3]["enter_room"]  # the probe entered the room
    assert result.events == []


@pytest.mark.parametrize("required", ["x-bogus", "x-gnarly"])
async def test_a_fixed_mode_the_socket_now_refuses(fake: FakeTikTok, close_later: list[Harness], required: str) -> None:
    fake.configure(ws_requires=required)
    h = await make(fake, close_later, ws_signer="none")
    result = await probes.check(h)
    assert result.outcome == "drift"
    (event,) = result.events
    assert event.kind == "ws_mode_change" and event.key == "ws_mode" and event.fingerprint == required
    assert event.detail["configured"] == "none" and event.detail["works"] == required
    assert event.detail["refused"]["class"] == "illegal_secret_key" and event.detail["switched"] is False
    assert f"TTSIGN_WS_SIGNER={required}" in event.title
    assert result.evidence["first_frame"] == "im_enter_room_resp"  # through the mode that works


async def test_auto_switches_to_the_mode_that_worked_and_recovers(fake: FakeTikTok, close_later: list[Harness]) -> None:
    h = await make(fake, close_later, ws_signer="auto")
    auto = h.upstream.direct.ws_signer
    assert isinstance(auto, AutoWsSigner) and auto.order[0] == "x-bogus"
    await cycle.run_cycle(h, checks=ONLY)  # healthy: x-bogus first, accepted
    assert h.seen == []
    fake.configure(ws_requires="x-gnarly")
    drifted = await cycle.run_cycle(h, checks=ONLY)
    assert drifted.outcome == "drift"
    (event,) = h.seen
    assert event.kind == "ws_mode_change" and event.detail["switched"] is True
    assert auto.order == ("x-gnarly", "x-bogus", "none") and "auto switched" in event.title
    assert len(auto.memory) == 0
    # a caller's connect now goes straight to x-gnarly: one probe, accepted
    ident = await h.upstream.pool.acquire()
    before = auto.probes
    params = await auto.choose(ident, {**DIRECT_ROUTE_PARAMS, "room_id": FAKE_ROOM_ID}, ws_url=fake.ws_url)
    assert "X-Gnarly" in params and auto.probes == before + 1
    again = await cycle.run_cycle(h, checks=ONLY)
    assert again.outcome == "ok" and [e.kind for e in h.seen] == ["ws_mode_change", "recovery"]
    assert h.monitor.active == {}


@pytest.mark.parametrize(
    ("config", "step", "cls"),
    [
        ({"ws_refuse": "DEVICE_BLOCKED"}, "socket", "device_blocked"),
        ({"ws_refuse": "illegal secret key", "ws_refuse_status": 417}, "socket", "illegal_secret_key"),
        ({"ws_refuse": "illegal request: ttwid not valid"}, "socket", "handshake_msg"),
        ({"unknown_users": [FAKE_USER]}, "room", "not_found"),
        ({"no_cookies": True}, "ttwid", "no_ttwid"),
    ],
)
async def test_failures_are_classified(
    fake: FakeTikTok, close_later: list[Harness], config: dict[str, Any], step: str, cls: str
) -> None:
    fake.configure(**config)
    h = await make(fake, close_later)
    result = await probes.check(h)
    assert result.outcome == "fail"
    (event,) = result.events
    assert event.kind == "probe_failure" and event.key == "probe" and event.severity == "medium"
    assert event.detail["step"] == step and event.detail["class"] == cls and event.fingerprint == f"{step}:{cls}"
    assert result.evidence["steps"][-1] == {**result.evidence["steps"][-1], "step": step, "ok": False, "class": cls}


async def test_a_socket_that_never_answers_is_a_timeout(fake: FakeTikTok, close_later: list[Harness]) -> None:
    held: list[asyncio.StreamWriter] = []

    async def silent(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)  # accept, never answer the upgrade

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        h = await make(fake, close_later, ws_url=f"ws://127.0.0.1:{port}/ws", upstream_timeout_s=1.0)
        result = await probes.check(h)
    finally:
        server.close()
        for w in held:
            w.close()
    assert result.outcome == "fail" and result.events[0].detail == {
        **result.events[0].detail,
        "step": "socket",
        "class": "timeout",
    }


async def test_a_probe_that_stops_early_keeps_the_ws_mode_condition(
    fake: FakeTikTok, close_later: list[Harness]
) -> None:
    fake.configure(ws_requires="x-gnarly")
    h = await make(fake, close_later, ws_signer="none")
    await cycle.run_cycle(h, checks=ONLY)
    assert set(h.monitor.active) == {"ws_mode"}
    fake.configure(unknown_users=[FAKE_USER])  # the room lookup fails: the socket was not tested this time
    await cycle.run_cycle(h, checks=ONLY)
    assert set(h.monitor.active) == {"ws_mode", "probe"}
    assert [e.kind for e in h.seen] == ["ws_mode_change", "probe_failure"]


async def test_not_configured_or_not_live(fake: FakeTikTok, close_later: list[Harness]) -> None:
    off = await make(fake, close_later, monitor_live_user="")
    assert (await probes.check(off)).outcome == "skipped"
    offline = await make(fake, close_later, monitor_live_user=OFFLINE_USER)
    result = await probes.check(offline)
    assert result.outcome == "fail" and result.events == [] and "not LIVE" in result.evidence["error"]
    assert fake.state()["sockets"] == []


def test_classifiers() -> None:
    assert probes.classify_room(RoomError("bot_walled", "SIGI_STATE is not valid JSON")) == "bot_wall"
    assert (
        probes.classify_room(RoomError("bot_walled", "TikTok x answered an empty body (tt_orcas_res gate)"))
        == "empty_200"
    )
    assert probes.classify_room(RoomError("timeout", "TikTok x did not answer in time")) == "timeout"
    assert probes.classify_ttwid(IdentityUnavailable("down", reason="unreachable")) == "unreachable"
    assert probes.classify_socket(ProbeOutcome("refused", 403, "HTTP 403 instead of an upgrade")) == "http_403"
    assert probes.classify_socket(ProbeOutcome("accepted", 101)) == "ok"
    assert set(probes.FAILURES) >= {
        "bot_wall",
        "empty_200",
        "http_403",
        "handshake_msg",
        "illegal_secret_key",
        "device_blocked",
        "timeout",
    }
