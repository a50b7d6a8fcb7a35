"""ttsign.tiktok.rooms against the offline TikTok (real HTTP on 127.0.0.1): api-live first, SIGI_STATE second.

The fake has no switch that breaks api-live alone (``down`` breaks every route), so the fallback tests give the
real ``Upstream`` a transport that sends api-live to a path the fake does not serve (a real 404 from the fake) or
to a closed port (a real connection refusal); the SIGI_STATE page still comes from the fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from tests.fakes.tiktok import FAKE_ROOM_ID, FAKE_USER, OFFLINE_ROOM_ID, OFFLINE_USER, FakeTikTok
from tests.fakes.transport import Rewrite, answer, canned
from tests.unit.conftest import closed_port_base
from ttsign.tiktok.http import TransportError, TransportResponse, Upstream
from ttsign.tiktok.rooms import RoomError, Rooms, check_room_id, normalize_unique_id

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
API_LIVE = "/api-live/user/room/"


def api_live_redirect(fake: FakeTikTok, target: str) -> Upstream:
    """The real upstream, its transport sending api-live requests to `target` + the same path."""

    def rewrite(url: str) -> str:
        return target + url[len(fake.base_url) :] if url.startswith(fake.base_url + API_LIVE) else url

    return Upstream(timeout_s=5.0, transport=Rewrite(rewrite))


def make_rooms(up: Upstream, fake: FakeTikTok) -> Rooms:
    return Rooms(up, www=fake.base_url + "/", webcast=fake.webcast_url, user_agent=UA)


@pytest.fixture
def rooms(upstream: Upstream, fake: FakeTikTok) -> Rooms:
    return make_rooms(upstream, fake)


@pytest.fixture(params=["api-live-404", "api-live-unreachable"])
async def fallback_rooms(request: pytest.FixtureRequest, fake: FakeTikTok) -> AsyncIterator[Rooms]:
    """Rooms whose api-live is unusable (a 404 page of the fake, or a refused connection)."""
    target = fake.base_url + "/gone" if request.param == "api-live-404" else closed_port_base()
    up = api_live_redirect(fake, target)
    yield make_rooms(up, fake)
    await up.close()


def requests(fake: FakeTikTok) -> list[dict[str, Any]]:
    return fake.state()["requests"]


def query_of(fake: FakeTikTok, path: str) -> Mapping[str, str]:
    hits = [r for r in requests(fake) if r["path"] == path]
    assert len(hits) == 1, [r["path"] for r in requests(fake)]
    return hits[0]["query"]


# ---- lookup via api-live -------------------------------------------------------------------------


async def test_live_user_via_api_live(rooms: Rooms, fake: FakeTikTok) -> None:
    found = await rooms.lookup(FAKE_USER)
    assert (found.unique_id, found.room_id, found.is_live, found.source) == (FAKE_USER, FAKE_ROOM_ID, True, "api-live")
    assert found.user["nickname"] == "Fake Streamer"
    q = query_of(fake, API_LIVE)
    assert q["uniqueId"] == FAKE_USER and q["sourceType"] == "54" and q["aid"] == "1988"
    assert [r["path"] for r in requests(fake)] == [API_LIVE]  # no SIGI page needed
    assert requests(fake)[0]["headers"]["user-agent"] == UA

    summary = found.summary()
    assert summary["room_id"] == FAKE_ROOM_ID and summary["is_live"] is True
    assert summary["user_id"] == fake.users[FAKE_USER].user_id
    assert summary["viewer_count"] == 123 and summary["title"] == "Fake Streamer is live"
    assert summary["start_time"] == 1764000000 and summary["stream_urls"]


async def test_offline_user_via_api_live(rooms: Rooms) -> None:
    found = await rooms.lookup(OFFLINE_USER)
    assert (found.room_id, found.is_live, found.source) == (OFFLINE_ROOM_ID, False, "api-live")


async def test_user_configured_offline(rooms: Rooms, fake: FakeTikTok) -> None:
    fake.configure(offline_users=[FAKE_USER])
    found = await rooms.lookup(FAKE_USER)
    assert found.room_id == FAKE_ROOM_ID and found.is_live is False


@pytest.mark.parametrize("uid", ["nosuchuser", FAKE_USER])
async def test_unknown_user_is_not_found(rooms: Rooms, fake: FakeTikTok, uid: str) -> None:
    fake.configure(unknown_users=[FAKE_USER])
    with pytest.raises(RoomError) as exc:
        await rooms.lookup(uid)
    assert exc.value.kind == "not_found" and uid in str(exc.value)
    assert [r["path"] for r in requests(fake)] == [API_LIVE]  # not_found is final: no SIGI retry


async def test_profile_url_is_normalised_before_lookup(rooms: Rooms, fake: FakeTikTok) -> None:
    found = await rooms.lookup(f"https://www.tiktok.com/@{FAKE_USER}/live")
    assert found.unique_id == FAKE_USER and found.room_id == FAKE_ROOM_ID
    assert query_of(fake, API_LIVE)["uniqueId"] == FAKE_USER


# ---- SIGI_STATE fallback -------------------------------------------------------------------------


async def test_sigi_fallback_live_user(fallback_rooms: Rooms, fake: FakeTikTok) -> None:
    found = await fallback_rooms.lookup(FAKE_USER)
    assert (found.room_id, found.is_live, found.source) == (FAKE_ROOM_ID, True, "sigi_state")
    assert found.user["uniqueId"] == FAKE_USER
    assert f"/@{FAKE_USER}/live" in [r["path"] for r in requests(fake)]


async def test_sigi_fallback_offline_user(fallback_rooms: Rooms) -> None:
    found = await fallback_rooms.lookup(OFFLINE_USER)
    assert (found.room_id, found.is_live, found.source) == (OFFLINE_ROOM_ID, False, "sigi_state")


async def test_sigi_fallback_unknown_user_is_not_found(fallback_rooms: Rooms) -> None:
    with pytest.raises(RoomError) as exc:
        await fallback_rooms.lookup("nosuchuser")
    assert exc.value.kind == "not_found"


async def test_sigi_shell_with_api_live_down_is_bot_walled(fallback_rooms: Rooms, fake: FakeTikTok) -> None:
    fake.configure(sigi_shell=True)
    with pytest.raises(RoomError) as exc:
        await fallback_rooms.lookup(FAKE_USER)
    assert exc.value.kind == "bot_walled"
    assert "api-live" in str(exc.value) and "SIGI_STATE" in str(exc.value)  # both attempts reported


async def test_sigi_shell_alone_does_not_matter_when_api_live_works(rooms: Rooms, fake: FakeTikTok) -> None:
    fake.configure(sigi_shell=True)
    assert (await rooms.lookup(FAKE_USER)).room_id == FAKE_ROOM_ID


async def test_everything_down_is_upstream(rooms: Rooms, fake: FakeTikTok) -> None:
    """TikTok answering 503 on every route is an upstream failure, not a bot wall."""
    fake.configure(down=503)
    with pytest.raises(RoomError) as exc:
        await rooms.lookup(FAKE_USER)
    assert exc.value.kind == "upstream"
    assert "503" in str(exc.value)


async def test_everything_unreachable_is_upstream(fake: FakeTikTok) -> None:
    up = Upstream(timeout_s=5.0)
    try:
        dead = closed_port_base()
        with pytest.raises(RoomError) as exc:
            await Rooms(up, www=dead, webcast=dead + "/webcast", user_agent=UA).lookup(FAKE_USER)
    finally:
        await up.close()
    assert exc.value.kind == "upstream"


# ---- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("fakeuser", "fakeuser"),
        ("@fakeuser", "fakeuser"),
        ("fake.user_01", "fake.user_01"),
        ("https://www.tiktok.com/@fakeuser/live", "fakeuser"),
        ("https://www.tiktok.com/@fakeuser", "fakeuser"),
        ("https://www.tiktok.com/@fakeuser/live?enter_from_merge=others_homepage&lang=en", "fakeuser"),
        ("www.tiktok.com/@fakeuser/live", "fakeuser"),
        ("https://m.tiktok.com/@fakeuser?is_from_webapp=1", "fakeuser"),
        ("a" * 24, "a" * 24),  # TikTok's longest username
        ("._fake.", "._fake."),
    ],
)
def test_normalize_unique_id(raw: str, expected: str) -> None:
    assert normalize_unique_id(raw) == expected


BAD_NAMES = [
    "",
    "   ",
    "@",
    "@@fakeuser",
    "fake user",
    "fakeuser!",
    "fakeuser/live",
    "a" * 25,
    "..",
    ".",
    "  @fakeuser \n",  # no trimming: the whole value is the name (issue 7, defect 9)
    "fakeuser\n",
    "fakeuser\r\n",
    "fake\x00user",
    "fakeuser ",
    "\tfakeuser",
    "fake%2Fuser",
    "..%2F..%2Fetc",
    "ｆａｋｅ",  # fullwidth letters are not ASCII letters
    "fake\u200buser",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "fakeuser%00",
    "https://www.tiktok.com/@/live",
    "https://vm.tiktok.com/ZMabcdef/",
    "https://www.tiktok.com/@fake user/live",
    "ünïcode",
]


@pytest.mark.parametrize("raw", BAD_NAMES)
def test_normalize_rejects_bad_usernames(raw: str) -> None:
    with pytest.raises(RoomError) as exc:
        normalize_unique_id(raw)
    assert exc.value.kind == "bad_input"


@pytest.mark.parametrize("raw", ["fake user", "../../etc/passwd", "https://vm.tiktok.com/ZMabcdef/"])
async def test_lookup_bad_input_never_reaches_tiktok(rooms: Rooms, fake: FakeTikTok, raw: str) -> None:
    with pytest.raises(RoomError) as exc:
        await rooms.lookup(raw)
    assert exc.value.kind == "bad_input"
    assert requests(fake) == []


# ---- room_info and check_alive -------------------------------------------------------------------


async def test_room_info_live_and_offline(rooms: Rooms, fake: FakeTikTok) -> None:
    info = await rooms.room_info(FAKE_ROOM_ID)
    assert info["id_str"] == FAKE_ROOM_ID and info["status"] == 2
    assert info["owner"]["display_id"] == FAKE_USER and info["user_count"] == 123
    assert query_of(fake, "/webcast/room/info/")["room_id"] == FAKE_ROOM_ID
    offline = await rooms.room_info(OFFLINE_ROOM_ID)
    assert offline["id_str"] == OFFLINE_ROOM_ID and offline["status"] == 4


async def test_check_alive(rooms: Rooms, fake: FakeTikTok) -> None:
    assert await rooms.check_alive(FAKE_ROOM_ID) is True
    assert await rooms.check_alive(OFFLINE_ROOM_ID) is False
    assert await rooms.check_alive("7000000000000000000") is False  # a room the fake does not know
    fake.configure(offline_users=[FAKE_USER])
    assert await rooms.check_alive(FAKE_ROOM_ID) is False
    hits = [r for r in requests(fake) if r["path"] == "/webcast/room/check_alive/"]
    assert hits[0]["query"]["room_ids"] == FAKE_ROOM_ID


@pytest.mark.parametrize("call", ["room_info", "check_alive"])
async def test_room_endpoints_down_are_upstream(rooms: Rooms, fake: FakeTikTok, call: str) -> None:
    fake.configure(down=502)
    with pytest.raises(RoomError) as exc:
        await getattr(rooms, call)(FAKE_ROOM_ID)
    assert exc.value.kind == "upstream" and "502" in str(exc.value)


async def test_lookups_are_cookie_free_on_a_shared_session(rooms: Rooms, upstream: Upstream, fake: FakeTikTok) -> None:
    """api-live and room/info are "unsigned and cookie-free" (live-connect.md §4), whatever the session saw."""
    await upstream.get(fake.base_url + "/live")  # TikTok sets ttwid, msToken, ... for 127.0.0.1 on this session
    await rooms.lookup(FAKE_USER)
    await rooms.room_info(FAKE_ROOM_ID)
    await rooms.check_alive(FAKE_ROOM_ID)
    later = [r for r in requests(fake) if r["path"] != "/live"]
    assert len(later) == 3
    assert [r["headers"].get("cookie") for r in later] == [None, None, None]


# ---- ids: one strict rule (issue 7, defect 9) ----------------------------------------------------


@pytest.mark.parametrize("raw", [FAKE_ROOM_ID, "1", "9" * 25])
def test_check_room_id_accepts_digits(raw: str) -> None:
    assert check_room_id(raw) == raw


@pytest.mark.parametrize(
    "raw",
    ["", f"{FAKE_ROOM_ID}\n", f"{FAKE_ROOM_ID}\r\n", f" {FAKE_ROOM_ID}", "+1", "-1", "1e9", "１２３", "٣", "9" * 26],
    ids=repr,
)
def test_check_room_id_rejects_anything_else(raw: str) -> None:
    with pytest.raises(RoomError) as exc:
        check_room_id(raw)
    assert exc.value.kind == "bad_input"


@pytest.mark.parametrize("call", ["room_info", "check_alive"])
async def test_room_endpoints_refuse_a_bad_room_id_before_calling_tiktok(
    rooms: Rooms, fake: FakeTikTok, call: str
) -> None:
    with pytest.raises(RoomError) as exc:
        await getattr(rooms, call)(f"{FAKE_ROOM_ID}\n")
    assert exc.value.kind == "bad_input"
    assert requests(fake) == []


# ---- upstream failures: kinds, TikTok's wait, nothing of the upstream's text or address ------------


def canned_rooms(result: TransportResponse | TransportError) -> Rooms:
    """Rooms over the real `Upstream` whose transport answers every request with `result` (or raises it)."""
    webcast = "https://webcast.tiktok.com/webcast"
    up = Upstream(timeout_s=1.0, transport=canned(result))
    return Rooms(up, www="https://www.tiktok.com", webcast=webcast, user_agent=UA)


def json_answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> TransportResponse:
    return answer(status, data, headers)


@pytest.mark.parametrize("call", ["room_info", "check_alive"])
async def test_room_endpoints_unreachable_are_room_errors(call: str) -> None:
    """Before: the UpstreamError escaped (a 500 on /v1/rooms when room/info failed)."""
    dead = closed_port_base()
    up = Upstream(timeout_s=5.0)
    try:
        with pytest.raises(RoomError) as exc:
            await getattr(Rooms(up, www=dead, webcast=dead + "/webcast", user_agent=UA), call)(FAKE_ROOM_ID)
    finally:
        await up.close()
    assert exc.value.kind == "upstream"
    assert dead.rsplit(":", 1)[1] not in str(exc.value) and "127.0.0.1" not in str(exc.value)


@pytest.mark.parametrize("call", ["lookup", "room_info", "check_alive"])
async def test_tiktok_429_is_rate_limited_with_its_wait(call: str) -> None:
    rooms = canned_rooms(json_answer({"status_code": 429}, 429, {"retry-after": "42"}))
    arg = FAKE_USER if call == "lookup" else FAKE_ROOM_ID
    with pytest.raises(RoomError) as exc:
        await getattr(rooms, call)(arg)
    assert exc.value.kind == "rate_limited" and exc.value.retry_after_s == 42.0


async def test_timeouts_are_timeouts() -> None:
    rooms = canned_rooms(TransportError("timeout"))
    with pytest.raises(RoomError) as exc:
        await rooms.lookup(FAKE_USER)
    assert exc.value.kind == "timeout"
    with pytest.raises(RoomError) as exc:
        await rooms.room_info(FAKE_ROOM_ID)
    assert exc.value.kind == "timeout"


MARKER = "UPSTREAM-TEXT-MARKER-<script>"


async def test_api_live_status_message_is_not_echoed() -> None:
    rooms = canned_rooms(json_answer({"statusCode": 10011, "message": MARKER}))
    with pytest.raises(RoomError) as exc:
        await rooms.lookup(FAKE_USER)
    assert "10011" in str(exc.value) and MARKER not in str(exc.value)


@pytest.mark.parametrize("room_id", [MARKER, "../../x", "123\n", 1.5])
async def test_a_room_id_from_tiktok_that_is_not_numeric_is_a_bad_answer(room_id: Any) -> None:
    rooms = canned_rooms(json_answer({"statusCode": 0, "data": {"user": {"roomId": room_id}, "liveRoom": {}}}))
    with pytest.raises(RoomError) as exc:
        await rooms.lookup(FAKE_USER)
    assert exc.value.kind == "bot_walled" and MARKER not in str(exc.value)


@pytest.mark.parametrize("data", [[1, 2], "text", {"user": [1]}, {"liveRoom": "x"}])
async def test_odd_shapes_from_tiktok_are_bad_answers_not_crashes(data: Any) -> None:
    rooms = canned_rooms(json_answer({"statusCode": 0, "data": data}))
    with pytest.raises(RoomError) as exc:
        await rooms.lookup(FAKE_USER)
    assert exc.value.kind == "bot_walled"


async def test_room_info_status_code_that_is_not_a_number_is_not_echoed() -> None:
    rooms = canned_rooms(json_answer({"status_code": MARKER}))
    with pytest.raises(RoomError) as exc:
        await rooms.room_info(FAKE_ROOM_ID)
    assert MARKER not in str(exc.value)
