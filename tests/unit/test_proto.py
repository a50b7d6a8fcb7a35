"""ttsign.tiktok.proto: round trips, gzip, event decoding, and wire compatibility with TikTokLive 7.0.1.

TikTokLive (and its TikTokLiveProto schema) is a test-only dependency: it is used here, unmodified,
as the referee of field numbers and of what a real client makes of our bytes.
"""

from __future__ import annotations

import dataclasses
import gzip
from typing import Any

import pytest
from TikTokLive.client.ws.ws_utils import extract_webcast_response_message
from TikTokLive.events import CommentEvent, GiftEvent, JoinEvent, LikeEvent
from TikTokLive.events.proto_events import EVENT_MAPPINGS
from TikTokLiveProto.v3.webcast import im as tl_im
from TikTokLiveProto.v3.webcast import model as tl_model
from TikTokLiveProto.v3.webcast.model import base as tl_base
from TikTokLiveProto.v3.webcast.model import message as tl_message
from TikTokLiveProto.v3.webcast.model.base import user as tl_user
from TikTokLiveProto.v3.webcast.shared import message as tl_shared

from ttsign.tiktok import proto

ROOM = 7451234567890123456
ALICE = proto.EventUser(id=7000000000000000042, nickname="Alice ✨", unique_id="alice_live", sec_uid="MS4wsec")

# Our message name -> the TikTokLiveProto class that describes the same wire message.
THEIRS: dict[str, Any] = {
    "BaseProtoMessage": tl_shared.BaseProtoMessage,
    "ProtoMessageFetchResult": tl_shared.ProtoMessageFetchResult,
    "PushHeader": tl_im.PushHeader,
    "WebcastPushFrame": tl_im.WebcastPushFrame,
    "HeartBeatMessage": tl_im.HeartBeatMessage,
    "WebcastImEnterRoomMessage": tl_im.WebcastImEnterRoomMessage,
    "CommonMessageData": tl_shared.CommonMessageData,
    "ImageModel": tl_base.ImageModel,
    "User": tl_user.User,
    "Gift": tl_model.Gift,
    "WebcastChatMessage": tl_message.WebcastChatMessage,
    "WebcastGiftMessage": tl_message.WebcastGiftMessage,
    "WebcastLikeMessage": tl_message.WebcastLikeMessage,
    "WebcastMemberMessage": tl_message.WebcastMemberMessage,
    "Text": tl_message.common.Text,  # issue 12 (the relay): follows, shares, viewer counts, stream control
    "WebcastSocialMessage": tl_message.WebcastSocialMessage,
    "WebcastRoomUserSeqMessage": tl_message.WebcastRoomUserSeqMessage,
    "WebcastControlMessage": tl_message.WebcastControlMessage,
}


def _their_fields(cls: Any) -> dict[int, tuple[str, str, bool]]:
    out = {}
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("betterproto")
        if meta is not None:
            out[meta.number] = (f.name, meta.proto_type, bool(meta.repeated))
    return out


_SCALAR_NAMES = {9: "string", 12: "bytes", 8: "bool", 5: "int32", 3: "int64"}  # FieldDescriptor.TYPE_*


def _our_fields(name: str) -> list[tuple[int, str, str, bool]]:
    """(number, name, type, repeated) of each field of our runtime message `name` (from webcast.proto)."""
    out = []
    for f in getattr(proto, name).DESCRIPTOR.fields:
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            kind = "map<string,string>"
        elif f.message_type is not None:
            kind = f.message_type.name
        else:
            kind = _SCALAR_NAMES[f.type]
        out.append((f.number, f.name, kind, f.is_repeated))
    return out


def test_schema_covers_every_message_in_the_brief() -> None:
    assert set(proto.BaseProtoMessage.DESCRIPTOR.file.message_types_by_name) == set(THEIRS)


@pytest.mark.parametrize("name", sorted(THEIRS))
def test_field_numbers_and_types_match_tiktoklive(name: str) -> None:
    theirs = _their_fields(THEIRS[name])
    for number, field_name, kind, repeated in _our_fields(name):
        assert number in theirs, f"{name}.{field_name}: field {number} unknown to TikTokLiveProto"
        their_name, their_type, their_repeated = theirs[number]
        assert their_name == field_name, f"{name} field {number}: ours {field_name}, theirs {their_name}"
        if kind == "map<string,string>":
            assert their_type == "map"
        elif kind in THEIRS:
            assert their_type == "message", f"{name}.{field_name}"
            assert their_repeated == repeated
        elif their_type == "enum":
            assert kind == "int32", f"{name}.{field_name}: enums are int32 varints on the wire"
        else:
            assert (their_type, their_repeated) == (kind, repeated), f"{name}.{field_name}"


def test_fetch_result_round_trip() -> None:
    chat = proto.chat_message(msg_id=11, room_id=ROOM, user=ALICE, content="hi", create_time=5)
    data = proto.encode_fetch_result(
        cursor="t-1_r-1",
        push_server="wss://example.invalid/ws/",
        route_params={"ws_direct": "1", "heartbeat_duration": "10000"},
        internal_ext="fetch_time:1|seq:1",
        is_first=True,
        need_ack=True,
        messages=[(proto.METHOD_CHAT, chat, 11), proto.base_message("Other", b"\x01", 12, is_history=True)],
        now_ms=1234,
        fetch_interval=999,
        fetch_type=1,
        heartbeat_duration=10000,
        history_comment_cursor="h",
        history_no_more=True,
    )
    r = proto.decode_fetch_result(data)
    d = proto.fetch_result_to_dict(r)
    assert d["cursor"] == "t-1_r-1"
    assert d["push_server"] == "wss://example.invalid/ws/"
    assert d["route_params"] == {"ws_direct": "1", "heartbeat_duration": "10000"}
    assert (d["is_first"], d["need_ack"], d["history_no_more"]) == (True, True, True)
    assert (d["now"], d["fetch_interval"], d["fetch_type"], d["heartbeat_duration"]) == (1234, 999, 1, 10000)
    assert d["internal_ext"] == "fetch_time:1|seq:1"
    assert d["history_comment_cursor"] == "h"
    assert d["messages"][0]["text"] == "hi"
    assert d["messages"][0]["envelope_msg_id"] == "11"
    assert d["messages"][1] == {"type": "unknown", "method": "Other", "size": 1, "envelope_msg_id": "12"}
    assert r.messages[1].is_history is True


def test_fetch_result_gzip_is_transparent() -> None:
    plain = proto.encode_fetch_result(cursor="c", now_ms=1)
    packed = proto.encode_fetch_result(cursor="c", now_ms=1, compress=True)
    assert proto.is_gzip(packed) and not proto.is_gzip(plain)
    assert gzip.decompress(packed) == plain
    assert proto.decode_fetch_result(packed).cursor == "c"
    assert proto.maybe_gunzip(plain) == plain


def test_encode_defaults_now_to_the_clock() -> None:
    r = proto.decode_fetch_result(proto.encode_fetch_result(cursor="c"))
    assert r.now > 1_700_000_000_000


def test_bad_bytes_raise_proto_decode_error() -> None:
    with pytest.raises(proto.ProtoDecodeError):
        proto.decode_fetch_result(b"\xff\xff\xff")
    with pytest.raises(proto.ProtoDecodeError):
        proto.parse_push_frame(b"\x0a\x05ab")  # truncated length-delimited field
    with pytest.raises(proto.ProtoDecodeError):
        proto.maybe_gunzip(proto.GZIP_MAGIC + b"\x00garbage")
    with pytest.raises(proto.ProtoDecodeError):
        proto.decode_event(proto.METHOD_CHAT, b"\x12\x99")


@pytest.mark.parametrize("compress", [False, True])
def test_push_frame_round_trip(compress: bool) -> None:
    inner = proto.encode_fetch_result(cursor="cur", need_ack=True, internal_ext="ext")
    data = proto.push_frame(
        "msg",
        inner,
        log_id=9001,
        seq_id=3,
        service=7,
        method=8,
        headers={"im-cursor": "cur"},
        compress=compress,
    )
    f = proto.parse_push_frame(data)
    assert (f.payload_type, f.log_id, f.seq_id, f.service, f.method) == ("msg", 9001, 3, 7, 8)
    assert f.payload_encoding == "pb"
    assert f.headers.get("im-cursor") == "cur"
    assert f.compressed is compress
    assert (f.headers.get("compress_type") == "gzip") is compress
    assert proto.is_gzip(f.payload) is compress
    assert f.data == inner
    assert f.fetch_result().internal_ext == "ext"


def test_heartbeat_and_enter_room_payloads() -> None:
    hb = proto.HeartBeatMessage.FromString(proto.encode_heartbeat(ROOM, 7))
    assert (hb.room_id, hb.send_packet_seq_id) == (ROOM, 7)
    enter = proto.WebcastImEnterRoomMessage.FromString(proto.encode_enter_room(ROOM, enter_unique_id=99, cursor="c"))
    assert (enter.room_id, enter.live_id, enter.identity, enter.enter_unique_id) == (ROOM, 12, "audience", 99)
    assert (enter.cursor, enter.filter_welcome_msg) == ("c", "0")


def test_decode_event_each_type() -> None:
    user = {"id": str(ALICE.id), "nickname": ALICE.nickname, "unique_id": ALICE.unique_id}
    chat = proto.decode_event(proto.METHOD_CHAT, proto.chat_message(msg_id=1, room_id=ROOM, user=ALICE, content="yo"))
    assert chat == {
        "type": "chat",
        "method": "WebcastChatMessage",
        "msg_id": "1",
        "room_id": str(ROOM),
        "user": user,
        "text": "yo",
    }
    gift = proto.decode_event(
        proto.METHOD_GIFT,
        proto.gift_message(
            msg_id=2, room_id=ROOM, user=ALICE, gift_id=5655, gift_name="Rose", repeat_count=3, repeat_end=1
        ),
    )
    assert gift["type"] == "gift" and gift["user"] == user
    assert gift["gift"] == {
        "id": 5655,
        "name": "Rose",
        "diamond_count": 1,
        "repeat_count": 3,
        "combo_count": 1,
        "repeat_end": 1,
    }
    like = proto.decode_event(
        proto.METHOD_LIKE, proto.like_message(msg_id=3, room_id=ROOM, user=ALICE, count=4, total=40)
    )
    assert (like["type"], like["likes"], like["total"], like["msg_id"]) == ("like", 4, 40, "3")
    member = proto.decode_event(
        proto.METHOD_MEMBER, proto.member_message(msg_id=4, room_id=ROOM, user=ALICE, member_count=9)
    )
    assert (member["type"], member["member_count"], member["action"]) == ("member", 9, 1)
    assert proto.decode_event("WebcastRoomUserSeqMessage", b"\x08\x01") == {
        "type": "unknown",
        "method": "WebcastRoomUserSeqMessage",
        "size": 2,
    }


def test_decode_event_without_user() -> None:
    payload = proto.WebcastChatMessage(content="anon").SerializeToString()
    assert proto.decode_event(proto.METHOD_CHAT, payload)["user"] is None


def test_fetch_result_to_dict_marks_undecodable_events() -> None:
    r = proto.decode_fetch_result(proto.encode_fetch_result(cursor="c", messages=[(proto.METHOD_LIKE, b"\x12\xff", 5)]))
    entry = proto.fetch_result_to_dict(r)["messages"][0]
    assert entry["type"] == "undecodable" and entry["method"] == proto.METHOD_LIKE
    raw = proto.fetch_result_to_dict(r, decode_events=False)["messages"][0]
    assert raw == {"method": proto.METHOD_LIKE, "size": 2, "envelope_msg_id": "5"}


# ---- what TikTokLive 7.0.1 makes of our bytes ----------------------------------------------------


def _events_via_tiktoklive(frame_bytes: bytes) -> tuple[Any, list[Any]]:
    """Decode a push frame exactly as TikTokLive's WebSocket loop does, then map its messages to events."""
    frame = tl_im.WebcastPushFrame().parse(frame_bytes)
    result = extract_webcast_response_message(frame)
    events = [EVENT_MAPPINGS[m.method]().parse(m.payload) for m in result.messages]
    return result, events


@pytest.mark.parametrize("compress", [False, True])
def test_tiktoklive_decodes_our_msg_frame_into_events(compress: bool) -> None:
    bob = proto.EventUser(id=7000000000000000043, nickname="Bob", unique_id="bob")
    messages = [
        (proto.METHOD_MEMBER, proto.member_message(msg_id=1, room_id=ROOM, user=bob, member_count=10), 1),
        (proto.METHOD_CHAT, proto.chat_message(msg_id=2, room_id=ROOM, user=ALICE, content="first!"), 2),
        (
            proto.METHOD_GIFT,
            proto.gift_message(
                msg_id=3,
                room_id=ROOM,
                user=bob,
                gift_id=5655,
                gift_name="Rose",
                diamond_count=1,
                repeat_count=2,
            ),
            3,
        ),
        (proto.METHOD_LIKE, proto.like_message(msg_id=4, room_id=ROOM, user=ALICE, count=15, total=300), 4),
    ]
    inner = proto.encode_fetch_result(cursor="cur-1", internal_ext="ext-1", need_ack=True, messages=messages)
    result, events = _events_via_tiktoklive(proto.push_frame("msg", inner, log_id=9001, compress=compress))
    assert result.need_ack is True and result.internal_ext == "ext-1" and result.cursor == "cur-1"
    join, comment, gift, like = events
    assert isinstance(join, JoinEvent) and join.user.display_id == "bob" and join.member_count == 10
    assert isinstance(comment, CommentEvent)
    assert comment.content == "first!"
    assert comment.comment == "first!"
    assert (comment.user.id, comment.user.nickname, comment.user.display_id) == (
        ALICE.id,
        ALICE.nickname,
        "alice_live",
    )
    assert comment.user.unique_id == "alice_live"  # ExtendedUser: the legacy alias of display_id
    assert comment.common.msg_id == 2 and comment.common.room_id == ROOM
    assert comment.common.method == "WebcastChatMessage"
    assert isinstance(gift, GiftEvent)
    assert (gift.gift_id, gift.repeat_count, gift.repeat_end, gift.gift.name) == (5655, 2, 1, "Rose")
    assert gift.gift.diamond_count == 1 and gift.user.nickname == "Bob"
    assert gift.streaking is False  # repeat_end=1: the streak is over, TikTokLive reports the total
    assert isinstance(like, LikeEvent) and (like.count, like.total) == (15, 300)
    assert like.user.display_id == "alice_live"


def test_tiktoklive_reads_our_initial_fetch_result() -> None:
    """What ``/webcast/fetch`` returns: TikTokLive wraps the bytes in a ``msg`` push frame, uncompressed."""
    data = proto.encode_fetch_result(
        cursor="0", push_server="wss://ws.invalid/p/", route_params={"ws_direct": "1"}, is_first=True
    )
    r = tl_shared.ProtoMessageFetchResult().parse(data)
    assert (r.cursor, r.push_server, r.is_first, dict(r.route_params)) == (
        "0",
        "wss://ws.invalid/p/",
        True,
        {"ws_direct": "1"},
    )


def test_we_read_frames_built_by_tiktoklive() -> None:
    """The frames TikTokLive sends (enter room, heartbeat, ack) parse with our schema."""
    enter = tl_im.WebcastPushFrame(
        payload_type="im_enter_room",
        payload_encoding="pb",
        payload=bytes(
            tl_im.WebcastImEnterRoomMessage(room_id=ROOM, live_id=12, identity="audience", filter_welcome_msg="0")
        ),
    )
    f = proto.parse_push_frame(bytes(enter))
    m = proto.WebcastImEnterRoomMessage.FromString(f.payload)
    assert (f.payload_type, m.room_id, m.live_id, m.identity) == ("im_enter_room", ROOM, 12, "audience")
    hb = tl_im.WebcastPushFrame(
        payload_type="hb",
        payload_encoding="pb",
        payload=bytes(tl_im.HeartBeatMessage(room_id=ROOM, send_packet_seq_id=3)),
    )
    h = proto.HeartBeatMessage.FromString(proto.parse_push_frame(bytes(hb)).payload)
    assert (h.room_id, h.send_packet_seq_id) == (ROOM, 3)
    ack = tl_im.WebcastPushFrame(payload_type="ack", payload_encoding="pb", log_id=9002, payload=b"ext")
    a = proto.parse_push_frame(bytes(ack))
    assert (a.payload_type, a.log_id, a.payload) == ("ack", 9002, b"ext")
    headers = tl_im.WebcastPushFrame(headers=[tl_im.PushHeader(key="compress_type", value="gzip")])
    assert proto.parse_push_frame(bytes(headers)).headers == {"compress_type": "gzip"}
