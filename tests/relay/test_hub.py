"""The relay hub against the offline fake: one socket per room, limits, grace, room end, reconnects, resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.fakes import frames
from tests.fakes.tiktok import DEFAULT_USERS, FAKE_ROOM_ID, FAKE_USER, OFFLINE_USER, FakeTikTok, FakeUser
from tests.relay.conftest import GRACE_S, relay_settings
from ttsign.relay.hub import RelayHub, RelayRefused, Subscription
from ttsign.tiktok.client import TikTokClient

SECOND = FakeUser("seconduser", "6812345678901234999", "7451234567890123999", "Second Streamer")
FIRST_EVENTS = ["control", "member", "chat", "chat", "gift", "like"]
"""What a fresh room gives: ttsign's `connected`, then the fake's scripted frames."""


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeTikTok]:
    with FakeTikTok(users=(*DEFAULT_USERS, SECOND)) as f:
        yield f


@pytest.fixture
async def make_hub(fake: FakeTikTok) -> AsyncIterator[Callable[..., RelayHub]]:
    made: list[tuple[RelayHub, TikTokClient]] = []

    def factory(**overrides: Any) -> RelayHub:
        hub_kw = {k: overrides.pop(k) for k in ("backoff_s", "max_reconnects") if k in overrides}
        settings = relay_settings(fake, **overrides)
        client = TikTokClient(settings)
        hub = RelayHub(settings, client, **hub_kw)
        made.append((hub, client))
        return hub

    yield factory
    for hub, client in made:
        await hub.close()
        await client.close()


async def take(sub: Subscription, n: int, timeout: float = 3.0) -> list[Any]:
    out = []
    for _ in range(n):
        event = await sub.next(timeout)
        assert event is not None, f"got {[e.type for e in out]} then nothing (end: {sub.end})"
        out.append(event)
    return out


async def until(check: Callable[[], bool], timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def sockets_of(fake: FakeTikTok, room_id: str = FAKE_ROOM_ID) -> list[dict[str, Any]]:
    return [s for s in fake.state()["sockets"] if s["query"].get("room_id") == room_id and s["accepted"]]


async def test_subscribers_of_one_room_share_one_socket_and_get_pushed_frames_in_order(
    make_hub: Callable[..., RelayHub], fake: FakeTikTok
) -> None:
    hub = make_hub()
    a = await hub.subscribe(FAKE_USER, owner="k1")
    b = await hub.subscribe("@FakeUser", owner="k2")  # the same room, however it is spelled
    assert [e.type for e in await take(a, 6)] == FIRST_EVENTS
    assert len(sockets_of(fake)) == 1 and fake.pusher.count(FAKE_ROOM_ID) == 1
    assert fake.pusher.push(FAKE_ROOM_ID, [frames.msg([frames.chat(f"line {i}")]) for i in range(5)]) == 1
    for sub, n in ((a, 5), (b, 5 + 5)):  # b joined after `connected`
        got = await take(sub, n)
        assert [e.data["text"] for e in got[-5:]] == [f"line {i}" for i in range(5)]
        assert [e.id for e in got] == list(range(got[0].id, got[0].id + n))
    ids = [e.id for e in hub.rooms[FAKE_USER].buffer.events]
    assert ids == list(range(1, len(ids) + 1))
    await until(lambda: len(fake.state()["acks"]) >= 4 + 5)  # every pushed msg frame acked by its log id
    assert hub.describe()["rooms_open"] == 1 and hub.describe()["subscribers"] == 2


async def test_the_room_closes_a_grace_period_after_its_last_subscriber_left(
    make_hub: Callable[..., RelayHub], fake: FakeTikTok
) -> None:
    hub = make_hub()
    sub = await hub.subscribe(FAKE_USER, owner="k")
    sub.close()
    await asyncio.sleep(GRACE_S / 6)
    again = await hub.subscribe(FAKE_USER, owner="k")  # back within the grace period: the same socket
    assert len(sockets_of(fake)) == 1
    again.close()
    await asyncio.sleep(GRACE_S / 6)
    assert fake.pusher.count(FAKE_ROOM_ID) == 1 and hub.describe()["rooms_open"] == 1
    await until(lambda: fake.pusher.count(FAKE_ROOM_ID) == 0, timeout=GRACE_S * 5)
    assert hub.describe()["rooms_open"] == 0 and hub.counters["rooms_closed_idle"] == 1


async def test_room_end_is_the_last_event_then_every_subscription_ends(
    make_hub: Callable[..., RelayHub], fake: FakeTikTok
) -> None:
    hub = make_hub()
    subs = [await hub.subscribe(FAKE_USER, owner=f"k{i}") for i in range(3)]
    await take(subs[0], 6)
    fake.pusher.push(FAKE_ROOM_ID, [frames.msg([frames.chat("bye"), frames.room_end()])])
    for sub in subs:
        rest = [e async for e in sub]
        assert [e.type for e in rest[-2:]] == ["chat", "room_end"]
        assert sub.end is not None and sub.end[0] == 4005
    await until(lambda: fake.pusher.count(FAKE_ROOM_ID) == 0)
    assert hub.describe()["rooms_open"] == 0


async def test_an_upstream_close_while_live_reconnects_and_while_offline_ends_the_room(
    make_hub: Callable[..., RelayHub], fake: FakeTikTok
) -> None:
    hub = make_hub(backoff_s=(0.02, 0.05))
    sub = await hub.subscribe(FAKE_USER, owner="k")
    await take(sub, 6)
    fake.pusher.push(FAKE_ROOM_ID, [frames.close_frame("server restart")])
    got = await take(sub, 3 + 5)
    kinds = [(e.type, e.data.get("action")) for e in got]
    assert kinds[:3] == [("control", "upstream_closed"), ("control", "reconnecting"), ("control", "connected")]
    assert got[2].data["reconnect"] is True and hub.counters["reconnects"] == 1
    assert "server restart" in got[0].data["reason"] and len(sockets_of(fake)) == 2
    fake.configure(offline_users=[FAKE_USER])
    fake.pusher.push(FAKE_ROOM_ID, [frames.close_frame("the LIVE is over")])
    rest = [e async for e in sub]
    assert rest[-1].type == "room_end" and sub.end is not None and sub.end[0] == 4005


async def test_a_banned_identity_ends_the_room_with_the_reason_after_the_reconnects(
    make_hub: Callable[..., RelayHub], fake: FakeTikTok
) -> None:
    hub = make_hub(backoff_s=(0.01, 0.02), max_reconnects=3)
    sub = await hub.subscribe(FAKE_USER, owner="k")
    await take(sub, 6)
    fake.configure(ws_refuse="DEVICE_BLOCKED")
    fake.pusher.close(FAKE_ROOM_ID)
    rest = [e async for e in sub]
    assert sub.end is not None and sub.end[0] == 4500 and "DEVICE_BLOCKED" in sub.end[1]
    assert rest[-1].type == "control" and rest[-1].data["action"] == "upstream_failed"


async def test_a_refused_first_connect_is_a_relay_refused(make_hub: Callable[..., RelayHub], fake: FakeTikTok) -> None:
    hub = make_hub()
    fake.configure(ws_refuse="DEVICE_BLOCKED")
    with pytest.raises(RelayRefused) as info:
        await hub.subscribe(FAKE_USER, owner="k")
    assert (info.value.code, info.value.http_status) == (4500, 502) and "DEVICE_BLOCKED" in info.value.message
    assert hub.describe()["rooms_open"] == 0 and hub.describe()["subscribers"] == 0


@pytest.mark.parametrize(
    ("user", "code", "status"),
    [(OFFLINE_USER, 4404, 404), ("nobody_here", 4404, 404), ("not a name!", 4400, 400)],
)
async def test_offline_unknown_and_bad_usernames_are_refused(
    make_hub: Callable[..., RelayHub], user: str, code: int, status: int
) -> None:
    with pytest.raises(RelayRefused) as info:
        await make_hub().subscribe(user, owner="k")
    assert (info.value.code, info.value.http_status) == (code, status) and len(info.value.message) >= 19


async def test_subscribers_per_owner_rooms_per_owner_and_total_rooms_are_limited(
    make_hub: Callable[..., RelayHub],
) -> None:
    hub = make_hub(relay_subscribers_per_key=2, relay_rooms_per_key=1, relay_max_rooms=1)
    first = [await hub.subscribe(FAKE_USER, owner="a") for _ in range(2)]
    with pytest.raises(RelayRefused) as info:
        await hub.subscribe(FAKE_USER, owner="a")
    assert (info.value.code, info.value.http_status) == (4429, 429) and "SUBSCRIBERS_PER_KEY" in info.value.message
    await hub.subscribe(FAKE_USER, owner="b")  # another owner: its own count
    with pytest.raises(RelayRefused) as info:
        await hub.subscribe(SECOND.unique_id, owner="b")
    assert info.value.code == 4429 and "ROOMS_PER_KEY" in info.value.message
    with pytest.raises(RelayRefused) as info:
        await hub.subscribe(SECOND.unique_id, owner="c")
    assert info.value.code == 4429 and "MAX_ROOMS" in info.value.message
    first[0].close()
    await hub.subscribe(FAKE_USER, owner="a")  # a freed subscription can be used again
    assert hub.counters["refused_subscribers"] == 1 and hub.counters["refused_max_rooms"] == 1


async def test_resume_replays_the_buffer_after_the_last_event_id(make_hub: Callable[..., RelayHub]) -> None:
    hub = make_hub(relay_buffer=4)
    sub = await hub.subscribe(FAKE_USER, owner="k")
    await take(sub, 6)
    late = await hub.subscribe(FAKE_USER, owner="k", last_event_id=4)
    assert [e.id for e in late.pending()] == [5, 6]
    old = await hub.subscribe(FAKE_USER, owner="k", last_event_id=0)
    assert [e.id for e in old.pending()] == [3, 4, 5, 6] and old.missed == 2
    fresh = await hub.subscribe(FAKE_USER, owner="k")
    assert fresh.pending() == []


async def test_a_subscription_ends_at_its_max_lifetime(make_hub: Callable[..., RelayHub]) -> None:
    hub = make_hub(relay_max_lifetime_s=0.2)
    sub = await hub.subscribe(FAKE_USER, owner="k")
    await asyncio.sleep(0.35)
    assert sub.end is not None and sub.end[0] == 4555
    assert hub.describe()["subscribers"] == 0


async def test_closing_the_hub_ends_every_subscription_and_closes_the_sockets(
    make_hub: Callable[..., RelayHub], fake: FakeTikTok
) -> None:
    hub = make_hub()
    sub = await hub.subscribe(FAKE_USER, owner="k")
    await hub.close()
    assert sub.end is not None and sub.end[0] == 1001
    await until(lambda: fake.pusher.count(FAKE_ROOM_ID) == 0)
    with pytest.raises(RelayRefused):
        await hub.subscribe(FAKE_USER, owner="k")
