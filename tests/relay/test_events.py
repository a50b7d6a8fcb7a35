"""The relay's JSON schema: each TikTok message type decoded as documented, gift combos collapsed, raw bytes on
request, unknown and broken messages passed through by name; the resume buffer."""

from __future__ import annotations

import base64
import json

from tests.fakes import frames
from ttsign.relay.buffer import EventBuffer
from ttsign.relay.events import TYPES, Decoder, RelayEvent
from ttsign.tiktok import proto

USER = {"id": str(frames.VIEWER.id), "unique_id": "scripted_viewer", "nickname": "Scripted Viewer", "avatar_url": ""}


def one(message: frames.Message, **kw: object) -> tuple[str, dict[str, object]]:
    out = Decoder().decode(*message, now=0.0)
    assert len(out) == 1, out
    return out[0].type, out[0].data


def test_chat_like_member_follow_share_viewers() -> None:
    kind, data = one(frames.chat("hi there"))
    assert kind == "chat" and data["text"] == "hi there" and data["user"] == USER and data["language"] == "en"
    assert isinstance(data["msg_id"], str)
    assert one(frames.like(5, 105))[1] | {"msg_id": ""} == {"msg_id": "", "user": USER, "count": 5, "total": 105}
    kind, data = one(frames.member(124))
    assert (kind, data["viewers"], data["action"], data["user"]) == ("member", 124, 1, USER)
    kind, data = one(frames.follow(1234))
    assert (kind, data["followers"], data["user"]) == ("follow", 1234, USER)
    kind, data = one(frames.share(3))
    assert (kind, data["shares"]) == ("share", 3)
    kind, data = one(frames.viewers(4321))
    assert (kind, data["count"], data["total_user"]) == ("viewers", 4321, 4321)


def test_a_social_message_is_told_apart_by_its_display_key_too() -> None:
    payload = proto.social_message(
        msg_id=1, room_id=1, user=frames.VIEWER, action=0, display_key="pm_mt_guidance_share"
    )
    assert one((proto.METHOD_SOCIAL, payload))[0] == "share"


def test_control_messages_pause_and_end() -> None:
    kind, data = one(frames.pause())
    assert kind == "control" and data["source"] == "tiktok" and data["action"] == "paused"
    kind, data = one(frames.room_end())
    assert kind == "room_end" and data["action"] == "ended" and "ended" in str(data["reason"])
    assert one(frames.room_end(suspended=True))[1]["action"] == "suspended"


def test_a_combo_is_one_gift_when_its_streak_ends_and_the_updates_are_gift_streaks() -> None:
    decoder = Decoder()
    out = [e for m in frames.gift_combo(3, diamonds=5) for e in decoder.decode(*m, now=0.0)]
    assert [e.type for e in out] == ["gift_streak", "gift_streak", "gift"]
    assert [e.data["count"] for e in out] == [1, 2, 3]
    final = out[-1].data
    assert (
        final["diamonds"] == 15
        and final["streak"] is True
        and final["gift"]
        == {
            "id": "5655",
            "name": "Rose",
            "diamonds": 5,
        }
    )
    assert out[0].data["group_id"] == "7" and not decoder.streaks


def test_a_gift_that_is_not_a_combo_is_a_gift_at_once() -> None:
    kind, data = one(frames.gift("Lion", gift_id=6, diamonds=29999, repeat_end=0, combo=False))
    assert (kind, data["streak"], data["diamonds"]) == ("gift", False, 29999)


def test_a_combo_whose_end_never_comes_is_emitted_after_the_timeout() -> None:
    decoder = Decoder(streak_timeout_s=5)
    updates = frames.gift_combo(4)[:-1]
    for m in updates:
        decoder.decode(*m, now=1.0)
    assert decoder.expire(5.0) == []
    expired = decoder.expire(6.0)
    assert [(e.type, e.data["count"], e.data["ended"]) for e in expired] == [("gift", 3, "timeout")]
    for m in updates:
        decoder.decode(*m, now=1.0)
    assert [e.type for e in decoder.expire(1.0, everything=True)] == ["gift"]  # a room that closes


def test_unknown_messages_pass_through_by_name_with_raw_bytes_on_request() -> None:
    method, payload = frames.unknown("WebcastEmoteChatMessage", b"\x08\x01\x12\x02hi")
    (d,) = Decoder().decode(method, payload, now=0.0)
    assert d.type == "unknown" and d.data == {"method": "WebcastEmoteChatMessage", "size": 6}
    event = RelayEvent(7, d.type, d.data, d.method, d.payload, 1, "42")
    assert "raw" not in event.as_json()
    assert base64.b64decode(event.as_json(raw=True)["raw"]) == payload
    assert json.loads(event.text(raw=True))["raw"] == event.as_json(raw=True)["raw"]


def test_raw_bytes_decode_back_to_the_message() -> None:
    method, payload = frames.chat("raw me")
    (d,) = Decoder().decode(method, payload, now=0.0)
    doc = json.loads(RelayEvent(1, d.type, d.data, d.method, d.payload, 1, "42").text(raw=True))
    assert proto.WebcastChatMessage.FromString(base64.b64decode(doc["raw"])).content == "raw me"  # type: ignore[attr-defined]
    assert set(doc) == {"id", "type", "room_id", "at", "method", "data", "raw"}
    assert doc["method"] == "WebcastChatMessage" and doc["type"] in TYPES


def test_a_message_that_does_not_parse_is_unknown_with_its_error() -> None:
    (d,) = Decoder().decode(proto.METHOD_CHAT, b"\xff\xff\xff", now=0.0)
    assert d.type == "unknown" and d.data["method"] == proto.METHOD_CHAT and "undecodable" in str(d.data["error"])


def _events(ids: range) -> list[RelayEvent]:
    return [RelayEvent(i, "chat", {}) for i in ids]


def test_the_buffer_resumes_after_an_id_and_counts_what_it_no_longer_holds() -> None:
    buf = EventBuffer(5)
    for e in _events(range(1, 9)):
        buf.add(e)
    assert [e.id for e in buf.events] == [4, 5, 6, 7, 8]
    assert [e.id for e in buf.after(5)[0]] == [6, 7, 8] and buf.after(5)[1] == 0
    assert [e.id for e in buf.after(3)[0]] == [4, 5, 6, 7, 8] and buf.after(3)[1] == 0
    events, missed = buf.after(1)
    assert [e.id for e in events] == [4, 5, 6, 7, 8] and missed == 2
    assert buf.after(8) == ([], 0)
    assert buf.after(50) == ([], 0)  # an id of an earlier opening of the room: from now
