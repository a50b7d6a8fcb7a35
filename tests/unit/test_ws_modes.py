"""Socket signing modes: the x-bogus token, refusal classes, and `auto`'s probing, memory and bounds.

These run without a network: `auto`'s socket probe is replaced by a recorder that answers like the fake's
socket would (`tests/fakes/tiktok.ws_signature_problem` judges each probe URL). The end-to-end runs against
the real fake socket are in `tests/api/test_ws_signing_modes.py`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fakes.tiktok import FAKE_ROOM_ID, ws_signature_problem
from ttsign.algorithms.navigator import get_preset
from ttsign.algorithms.signature import decode_frontier_stub
from ttsign.config import Settings
from ttsign.signing.factory import make_ws_signer
from ttsign.signing.ws import xbogus_ws_signer, xgnarly_ws_signer
from ttsign.tiktok import proto
from ttsign.tiktok.identity_pool import AnonIdentity, IdentityPool
from ttsign.tiktok.webcast import DIRECT_ROUTE_PARAMS, ConnectError, ConnectRequest, DirectStrategy
from ttsign.tiktok.ws_modes import (
    AUTO_ORDER,
    AutoWsSigner,
    ProbeOutcome,
    SocketModeError,
    WsModeMemory,
    classify,
    probe_url,
)

PRESET = get_preset("chrome-win")
ROUTE = {**DIRECT_ROUTE_PARAMS, "room_id": FAKE_ROOM_ID}
WS = "ws://127.0.0.1:9/webcast/im/ws_proxy/ws_reuse_supplement/"


def signers() -> dict[str, Any]:
    return {
        "none": None,
        "x-bogus": xbogus_ws_signer(PRESET.xbogus_header),
        "x-gnarly": xgnarly_ws_signer(PRESET.user_agent),
    }


class FakeSocket:
    """A probe that judges each URL as the fake's socket does for `requires`, or answers `fixed`."""

    def __init__(self, requires: str = "none", fixed: ProbeOutcome | None = None) -> None:
        self.requires = requires
        self.fixed = fixed
        self.urls: list[str] = []
        self.cookies: list[Mapping[str, str]] = []

    async def __call__(self, url: str, *, cookies: Mapping[str, str], **_: Any) -> ProbeOutcome:
        self.urls.append(url)
        self.cookies.append(dict(cookies))
        if self.fixed is not None:
            return self.fixed
        problem = ws_signature_problem(self.requires, urlsplit(url).query)
        return ProbeOutcome("signature", 200, "illegal secret key") if problem else ProbeOutcome("accepted", 101)

    def modes(self) -> list[str]:
        """The mode each probe URL carried."""
        out = []
        for url in self.urls:
            q = urlsplit(url).query
            out.append("x-gnarly" if "X-Gnarly=" in q else "x-bogus" if "X-Bogus=" in q else "none")
        return out


def ident(ttwid: str = "1|abc|1|def", created: float = 100.0) -> AnonIdentity:
    return AnonIdentity({"ttwid": ttwid, "tt_csrf_token": "c", "msToken": "secret"}, created)


# ---- the x-bogus mode ----------------------------------------------------------------------------


def test_xbogus_is_the_pages_frontiersign_over_an_empty_payload() -> None:
    sign = xbogus_ws_signer(PRESET.xbogus_header)
    first, second = sign(dict(ROUTE))["X-Bogus"], sign({"room_id": "other"})["X-Bogus"]
    a, b = decode_frontier_stub(first), decode_frontier_stub(second)
    assert len(first) == 16 and a.initialized
    assert (a.call_index, b.call_index) == (1, 2)  # the page's frontierSign counter
    assert a.header == PRESET.xbogus_header[1:]
    assert a.stub_tail == hashlib.md5(bytes(16)).digest()[14:]  # empty X-MS-PAYLOAD: the zero stub
    assert a.stub_tail == b.stub_tail  # no query param is an input


def test_settings_offer_each_mode() -> None:
    assert make_ws_signer(Settings()) is None
    assert "X-Bogus" in make_ws_signer(Settings(ws_signer="x-bogus"))(dict(ROUTE))  # type: ignore[misc]
    assert "X-Gnarly" in make_ws_signer(Settings(ws_signer="x-gnarly"))(dict(ROUTE))  # type: ignore[misc]
    auto = make_ws_signer(Settings(ws_signer="auto"))
    assert isinstance(auto, AutoWsSigner) and auto.order == AUTO_ORDER == ("x-bogus", "none", "x-gnarly")
    with pytest.raises(ValueError):
        Settings(ws_signer="x-dynosaur")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (101, "", "accepted"),
        (0, "could not open the socket", "unreachable"),
        (200, "illegal secret key", "signature"),
        (200, "DEVICE_BLOCKED", "identity"),
        (200, "illegal request: ttwid cookie missing", "identity"),
        (200, "illegal app_id", "identity"),
        (200, "something new", "refused"),
        (400, "HTTP 400 instead of an upgrade", "refused"),
    ],
)
def test_refusals_are_classified(status: int, message: str, kind: str) -> None:
    assert classify(status, message) == kind


def test_probe_url_puts_the_route_first_then_the_player() -> None:
    url = probe_url(WS + "?x=1", {**ROUTE, "X-Bogus": "ab+c/d"}, PRESET)
    query = urlsplit(url).query
    keys = [seg.split("=", 1)[0] for seg in query.split("&")]
    assert keys[: len(ROUTE) + 1] == [*ROUTE, "X-Bogus"]
    assert "X-Bogus=ab%2Bc/d" in query  # a raw '+' would read as a space
    assert {"browser_version", "screen_width", "tz_name"} <= set(keys) and keys[-1] == "version_code"
    assert url.startswith(WS + "?")


# ---- auto ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("requires", ["x-bogus", "none", "x-gnarly"])
async def test_auto_finds_the_required_mode_and_remembers_it(requires: str) -> None:
    sock = FakeSocket(requires)
    auto = AutoWsSigner(signers(), preset=PRESET, probe=sock)
    who = ident()
    first = await auto.choose(who, dict(ROUTE), ws_url=WS)
    found = AUTO_ORDER[0] if requires == "none" else requires  # a socket that checks nothing takes the first
    tried = sock.modes()
    assert tried == list(AUTO_ORDER[: AUTO_ORDER.index(found) + 1])  # in order, each once, stop at the first yes
    assert auto.memory.recall(who) == found
    second = await auto.choose(who, dict(ROUTE), ws_url=WS)
    assert sock.modes() == tried  # straight to the remembered mode: no probe
    assert set(first) == set(second) == {"x-bogus": {"X-Bogus"}, "x-gnarly": {"X-Gnarly"}}[found]
    assert "msToken" not in sock.cookies[0] and sock.cookies[0]["ttwid"] == who.ttwid


async def test_auto_signs_the_client_afresh() -> None:
    sock = FakeSocket("x-bogus")
    auto = AutoWsSigner(signers(), preset=PRESET, probe=sock)
    got = await auto.choose(ident(), dict(ROUTE), ws_url=WS)
    probed = urlsplit(sock.urls[0]).query
    assert got["X-Bogus"] not in probed  # the probe's token is not handed to the client
    assert decode_frontier_stub(got["X-Bogus"]).call_index == 2


async def test_auto_tries_each_mode_once_then_a_classified_error() -> None:
    sock = FakeSocket(fixed=ProbeOutcome("signature", 200, "illegal secret key"))
    auto = AutoWsSigner(signers(), preset=PRESET, probe=sock)
    with pytest.raises(SocketModeError) as err:
        await auto.choose(ident(), dict(ROUTE), ws_url=WS)
    assert err.value.kind == "socket_refused"
    assert sock.modes() == list(AUTO_ORDER)
    assert str(err.value) == (
        "TikTok's socket refused every signing mode: x-bogus: illegal secret key; none: illegal secret key; "
        "x-gnarly: illegal secret key"
    )
    assert len(auto.memory) == 0  # nothing accepted, nothing remembered


@pytest.mark.parametrize(
    ("outcome", "kind", "probes"),
    [
        (ProbeOutcome("identity", 200, "DEVICE_BLOCKED"), "socket_refused", 1),
        (ProbeOutcome("unreachable", 0, "could not open the socket (OSError)"), "upstream_down", 1),
        (ProbeOutcome("timeout", 0, "no answer"), "timeout", 1),
    ],
)
async def test_auto_stops_where_another_mode_cannot_help(outcome: ProbeOutcome, kind: str, probes: int) -> None:
    sock = FakeSocket(fixed=outcome)
    auto = AutoWsSigner(signers(), preset=PRESET, probe=sock)
    with pytest.raises(SocketModeError) as err:
        await auto.choose(ident(), dict(ROUTE), ws_url=WS)
    assert err.value.kind == kind and len(sock.urls) == probes


async def test_auto_gives_up_at_the_callers_deadline() -> None:
    import asyncio

    sock = FakeSocket("x-gnarly")
    auto = AutoWsSigner(signers(), preset=PRESET, probe=sock)
    with pytest.raises(SocketModeError) as err:
        await auto.choose(ident(), dict(ROUTE), ws_url=WS, deadline=asyncio.get_running_loop().time())
    assert err.value.kind == "timeout" and sock.urls == []


def test_memory_is_per_identity_and_expires_with_it() -> None:
    mem = WsModeMemory(max_entries=2)
    a, b = ident("a"), ident("b")
    mem.remember(a, "x-gnarly")
    assert mem.recall(a) == "x-gnarly" and mem.recall(b) is None
    assert mem.recall(ident("a", created=200.0)) is None  # same ttwid, another identity: not its memory
    mem.remember(a, "x-bogus")
    a.burned = True
    assert mem.recall(a) is None and len(mem) == 0  # a burned identity's memory goes with it
    for name in "cde":
        mem.remember(ident(name), "none")
    assert len(mem) == 2 and mem.recall(ident("c")) is None  # bounded (LRU)
    with pytest.raises(ValueError):
        mem.remember(b, "x-dynosaur")


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_direct_auto_reprobes_when_the_identity_expires() -> None:
    clock = _Clock()
    issued = iter(f"ttwid-{i}" for i in range(10))

    async def issue() -> dict[str, str]:
        return {"ttwid": next(issued)}

    pool = IdentityPool(issue, ttl_s=60.0, clock=clock)
    sock = FakeSocket("x-gnarly")
    direct = DirectStrategy(pool, ws_url=WS, ws_signer=AutoWsSigner(signers(), preset=PRESET, probe=sock))
    r1 = await direct.connect(ConnectRequest(FAKE_ROOM_ID, PRESET.user_agent))
    assert len(sock.urls) == 3 and "X-Gnarly" in dict(proto.decode_fetch_result(r1.body).route_params)
    await direct.connect(ConnectRequest(FAKE_ROOM_ID, PRESET.user_agent))
    assert len(sock.urls) == 3  # same identity: remembered
    clock.t += 61  # the identity expires; its successor is probed afresh
    r3 = await direct.connect(ConnectRequest(FAKE_ROOM_ID, PRESET.user_agent))
    assert r3.cookies[0] == ("ttwid", "ttwid-1") and len(sock.urls) == 6


async def test_direct_auto_refusal_is_a_connect_error() -> None:
    async def issue() -> dict[str, str]:
        return {"ttwid": "t"}

    sock = FakeSocket(fixed=ProbeOutcome("signature", 200, "illegal secret key"))
    direct = DirectStrategy(
        IdentityPool(issue), ws_url=WS, ws_signer=AutoWsSigner(signers(), preset=PRESET, probe=sock)
    )
    with pytest.raises(ConnectError) as err:
        await direct.connect(ConnectRequest(FAKE_ROOM_ID, PRESET.user_agent))
    assert err.value.kind == "socket_refused" and "every signing mode" in str(err.value)


# ---- the fake's check ----------------------------------------------------------------------------


def test_fake_socket_checks_each_signature() -> None:
    route = dict(ROUTE)
    bogus = probe_url(WS, {**route, **xbogus_ws_signer(PRESET.xbogus_header)(route)}, PRESET)
    gnarly = probe_url(WS, {**route, **xgnarly_ws_signer(PRESET.user_agent)(route)}, PRESET)
    plain = probe_url(WS, route, PRESET)
    q = {name: urlsplit(u).query for name, u in (("x-bogus", bogus), ("x-gnarly", gnarly), ("none", plain))}
    for required in ("none", "x-bogus", "x-gnarly"):
        for sent, query in q.items():
            ok = required in ("none", sent)
            assert (ws_signature_problem(required, query) == "") is ok, (required, sent)
    tampered = q["x-gnarly"].replace(f"room_id={FAKE_ROOM_ID}", "room_id=1")
    assert "does not verify" in ws_signature_problem("x-gnarly", tampered)
    assert "not a frontierSign" in ws_signature_problem("x-bogus", q["x-bogus"].replace("X-Bogus=", "X-Bogus=A"))
    stale = ws_signature_problem("x-gnarly", q["x-gnarly"], now=2_000_000_000.0)
    assert "G6" in stale
