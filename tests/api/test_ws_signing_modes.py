"""`TTSIGN_WS_SIGNER` end to end: ttsign's connect answer, then the socket, against the fake requiring each mode.

The fake's socket (`FakeConfig.ws_requires`) refuses an upgrade without a valid signature of the required
kind the way TikTok does (HTTP 200, `handshake-status: 417`, `handshake-msg: illegal secret key`). The
"client" here opens the socket with the connect answer's route params first, in ttsign's order, then the
player's params (as TikTokLive lays them out), and the answer's `X-Set-TT-Cookie`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.fakes.tiktok import FAKE_ROOM_ID, FakeTikTok
from tests.unit.conftest import closed_port_base
from ttsign.algorithms.navigator import get_preset
from ttsign.config import Settings
from ttsign.server.app import create_app
from ttsign.tiktok import proto
from ttsign.tiktok.webcast import DIRECT_ROUTE_PARAMS
from ttsign.tiktok.ws_modes import AUTO_ORDER, MODES, ProbeOutcome, probe_socket, probe_url

PRESET = get_preset("chrome-win")
CONNECT = f"/webcast/rooms/{FAKE_ROOM_ID}/connect"
SIGNATURE_PARAM = {"none": None, "x-bogus": "X-Bogus", "x-gnarly": "X-Gnarly"}


def app_client(fake: FakeTikTok, mode: str, **kw: Any) -> TestClient:
    s = Settings(
        log_level="warning",
        tiktok_www=fake.base_url,
        ttwid_url=fake.ttwid_url,
        webcast_url=fake.webcast_url,
        ws_url=kw.pop("ws_url", fake.ws_url),
        ws_signer=mode,  # type: ignore[arg-type]
        upstream_timeout_s=3.0,
        **kw,
    )
    return TestClient(create_app(s))


def sockets(fake: FakeTikTok) -> list[dict[str, Any]]:
    return list(fake.state()["sockets"])


def route_of(answer: bytes) -> dict[str, str]:
    got = dict(proto.decode_fetch_result(answer).route_params)
    order = [*DIRECT_ROUTE_PARAMS, "room_id"]  # protobuf maps keep no order: the order ttsign signed in
    return {k: got.pop(k) for k in order} | got


def open_socket(fake: FakeTikTok, answer: Any) -> ProbeOutcome:
    cookies = dict(c.split("=", 1) for c in answer.headers["X-Set-TT-Cookie"].split("; "))
    url = probe_url(fake.ws_url, route_of(answer.content), PRESET)
    return asyncio.run(probe_socket(url, cookies=cookies, user_agent=PRESET.user_agent, timeout_s=3.0))


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_connects_when_the_socket_requires_it(fake: FakeTikTok, mode: str) -> None:
    fake.configure(ws_requires=mode)
    with app_client(fake, mode) as c:
        r = c.get(CONNECT)
        assert r.status_code == 200, r.text
        route = route_of(r.content)
        param = SIGNATURE_PARAM[mode]
        assert (param in route) if param else not {"X-Bogus", "X-Gnarly"} & set(route)
        assert sockets(fake) == []  # a fixed mode does not probe
        assert open_socket(fake, r) == ProbeOutcome("accepted", 101)
    (rec,) = sockets(fake)
    assert rec["accepted"] and rec["signature"] == {"required": mode, "problem": ""}


@pytest.mark.parametrize(("required", "sent"), [(r, s) for r in ("x-bogus", "x-gnarly") for s in MODES if s != r])
def test_a_wrong_mode_is_refused_and_classified(fake: FakeTikTok, required: str, sent: str) -> None:
    fake.configure(ws_requires=required)
    with app_client(fake, sent) as c:
        r = c.get(CONNECT)
        assert r.status_code == 200, r.text
        assert open_socket(fake, r) == ProbeOutcome("signature", 200, "illegal secret key")
    (rec,) = sockets(fake)
    assert rec["refused"] == {"handshake_status": 417, "handshake_msg": "illegal secret key"}
    assert rec["signature"]["problem"]


@pytest.mark.parametrize("required", MODES)
def test_auto_finds_the_required_mode_and_remembers_it(fake: FakeTikTok, required: str) -> None:
    fake.configure(ws_requires=required)
    found = AUTO_ORDER[0] if required == "none" else required  # a socket that checks nothing takes the first
    probes = AUTO_ORDER.index(found) + 1
    with app_client(fake, "auto") as c:
        first = c.get(CONNECT)
        assert first.status_code == 200, first.text
        tried = sockets(fake)
        assert len(tried) == probes and [s["accepted"] for s in tried] == [False] * (probes - 1) + [True]
        param = SIGNATURE_PARAM[found]
        assert param in route_of(first.content)
        assert open_socket(fake, first).kind == "accepted"  # the client gets in with what the probe found
        second = c.get(CONNECT)
        assert second.status_code == 200, second.text
        assert second.headers["X-Set-TT-Cookie"] == first.headers["X-Set-TT-Cookie"]  # the same identity
        assert len(sockets(fake)) == probes + 1  # straight to the remembered mode: no probe this time
        assert param in route_of(second.content)
        assert open_socket(fake, second).kind == "accepted"


@pytest.mark.parametrize(
    ("refusal", "probes"),
    [("illegal secret key", len(AUTO_ORDER)), ("DEVICE_BLOCKED", 1)],
)
def test_auto_refused_everywhere_is_a_clear_502(fake: FakeTikTok, refusal: str, probes: int) -> None:
    fake.configure(ws_refuse=refusal, ws_refuse_status=417)
    with app_client(fake, "auto") as c:
        r = c.get(CONNECT)
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["code"] == 502 and body["reason"] == "socket_refused"
    assert refusal in body["message"] and len(body["message"]) >= 19
    assert len(sockets(fake)) == probes


def test_auto_with_the_socket_unreachable_is_a_502(fake: FakeTikTok) -> None:
    dead = closed_port_base().replace("http://", "ws://") + "/webcast/im/ws_proxy/ws_reuse_supplement/"
    with app_client(fake, "auto", ws_url=dead) as c:
        r = c.get(CONNECT)
    assert r.status_code == 502, r.text
    assert r.json()["reason"] == "upstream_down" and "could not be reached" in r.json()["message"]
