"""Our own minimal protobuf schema for the TikTok LIVE webcast wire format.

Only the messages ttsign needs are described, and only the fields it reads or writes. Field numbers
are protocol facts (see ``shared/protocol/live-connect.md`` §1.3); the names are ours. Unknown fields
sent by TikTok are preserved by the protobuf runtime and ignored here.

The schema is built at import time as a ``FileDescriptorProto`` in a private descriptor pool, so
there is no generated code to regenerate and no coupling between a ``protoc`` version and the
installed ``protobuf`` runtime. Editing the schema means editing :data:`_SCHEMA` below. In ``.proto``
terms it reads::

    message BaseProtoMessage { string method = 1; bytes payload = 2; int64 msg_id = 3;
        int32 msg_type = 4; int64 offset = 5; bool is_history = 6; int32 sample_flag = 7; }
    message ProtoMessageFetchResult { repeated BaseProtoMessage messages = 1; string cursor = 2;
        int64 fetch_interval = 3; int64 now = 4; string internal_ext = 5; int32 fetch_type = 6;
        map<string, string> route_params = 7; int64 heartbeat_duration = 8; bool need_ack = 9;
        string push_server = 10; bool is_first = 11; string history_comment_cursor = 12;
        bool history_no_more = 13; }
    message PushHeader { string key = 1; string value = 2; }
    message WebcastPushFrame { int64 seq_id = 1; int64 log_id = 2; int64 service = 3; int64 method = 4;
        repeated PushHeader headers = 5; string payload_encoding = 6; string payload_type = 7;
        bytes payload = 8; }
    message HeartBeatMessage { int64 room_id = 1; int64 send_packet_seq_id = 2; }
    message WebcastImEnterRoomMessage { int64 room_id = 1; string room_tag = 2; string live_region = 3;
        int64 live_id = 4; string identity = 5; string cursor = 6; int64 account_type = 7;
        int64 enter_unique_id = 8; string filter_welcome_msg = 9; bool is_anchor_continue_keep_msg = 10; }
    message CommonMessageData { string method = 1; int64 msg_id = 2; int64 room_id = 3;
        int64 create_time = 4; bool is_show_msg = 6; string describe = 7; }
    message ImageModel { repeated string url_list = 1; string uri = 2; }
    message User { int64 id = 1; string nickname = 3; string bio_description = 5;
        ImageModel avatar_thumb = 9; string display_id = 38; string sec_uid = 46; }
    message Gift { ImageModel image = 1; string describe = 2; int64 id = 5; bool combo = 10;
        int32 type = 11; int32 diamond_count = 12; string name = 16; }
    message WebcastChatMessage { CommonMessageData common = 1; User user = 2; string content = 3;
        string content_language = 14; }
    message WebcastGiftMessage { CommonMessageData common = 1; int64 gift_id = 2; int32 group_count = 4;
        int32 repeat_count = 5; int32 combo_count = 6; User user = 7; User to_user = 8;
        int32 repeat_end = 9; int64 group_id = 11; Gift gift = 15; int64 send_type = 17; }
    message WebcastLikeMessage { CommonMessageData common = 1; int32 count = 2; int64 total = 3;
        User user = 5; }
    message WebcastMemberMessage { CommonMessageData common = 1; User user = 2; int32 member_count = 3;
        int32 enter_type = 9; int32 action = 10; int64 user_id = 12; }

``User.display_id`` (field 38) is the ``@handle``: TikTokLive exposes it as ``display_id`` /
``unique_id``, tiktok-live-connector as ``displayId``. ``WebcastMemberMessage.action`` is an enum
upstream (1 = joined); an ``int32`` is wire-identical.

Helpers: :func:`encode_fetch_result` / :func:`decode_fetch_result`, :func:`push_frame` /
:func:`parse_push_frame`, gzip handling (:func:`gzip_bytes`, :func:`maybe_gunzip`), message builders
for the offline fake and tests (:func:`chat_message` and friends), and :func:`decode_event` /
:func:`fetch_result_to_dict` for the diagnostics CLI.
"""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

__all__ = [
    "GZIP_MAGIC",
    "METHOD_CHAT",
    "METHOD_GIFT",
    "METHOD_LIKE",
    "METHOD_MEMBER",
    "BaseProtoMessage",
    "CommonMessageData",
    "EventUser",
    "Gift",
    "HeartBeatMessage",
    "ImageModel",
    "ParsedPushFrame",
    "ProtoDecodeError",
    "ProtoMessageFetchResult",
    "PushHeader",
    "User",
    "WebcastChatMessage",
    "WebcastGiftMessage",
    "WebcastImEnterRoomMessage",
    "WebcastLikeMessage",
    "WebcastMemberMessage",
    "WebcastPushFrame",
    "base_message",
    "chat_message",
    "decode_event",
    "decode_fetch_result",
    "encode_enter_room",
    "encode_fetch_result",
    "encode_heartbeat",
    "fetch_result_to_dict",
    "gift_message",
    "gzip_bytes",
    "is_gzip",
    "like_message",
    "maybe_gunzip",
    "member_message",
    "parse_push_frame",
    "push_frame",
]

PACKAGE = "ttsign.webcast"
"""Protobuf package of our schema. Only used for full names; it never reaches the wire."""

GZIP_MAGIC = b"\x1f\x8b\x08"
"""The first three bytes of a gzip stream (deflate method): what tiktok-live-connector sniffs."""

MAX_INFLATED_BYTES = 8 * 1024 * 1024
"""The most a gzip payload may inflate to (a fetch result or frame is a few KiB): a gzip bomb from a
hostile upstream stops here, with a ``ProtoDecodeError``, instead of filling memory."""

METHOD_CHAT = "WebcastChatMessage"
METHOD_GIFT = "WebcastGiftMessage"
METHOD_LIKE = "WebcastLikeMessage"
METHOD_MEMBER = "WebcastMemberMessage"


class ProtoDecodeError(ValueError):
    """Bytes that are not a valid encoding of the expected message (or a broken gzip stream, or one
    that inflates past ``MAX_INFLATED_BYTES``)."""


# --------------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------------


class _F(NamedTuple):
    """One field of :data:`_SCHEMA`: number, name, type and whether it is ``repeated``.

    ``type`` is a scalar name (``string``, ``bytes``, ``bool``, ``int32``, ``int64``), the name of
    another message in the schema, or ``map<string,string>``.
    """

    number: int
    name: str
    type: str
    repeated: bool = False


_SCHEMA: dict[str, tuple[_F, ...]] = {
    "BaseProtoMessage": (
        _F(1, "method", "string"),
        _F(2, "payload", "bytes"),
        _F(3, "msg_id", "int64"),
        _F(4, "msg_type", "int32"),
        _F(5, "offset", "int64"),
        _F(6, "is_history", "bool"),
        _F(7, "sample_flag", "int32"),
    ),
    "ProtoMessageFetchResult": (
        _F(1, "messages", "BaseProtoMessage", repeated=True),
        _F(2, "cursor", "string"),
        _F(3, "fetch_interval", "int64"),
        _F(4, "now", "int64"),
        _F(5, "internal_ext", "string"),
        _F(6, "fetch_type", "int32"),
        _F(7, "route_params", "map<string,string>"),
        _F(8, "heartbeat_duration", "int64"),
        _F(9, "need_ack", "bool"),
        _F(10, "push_server", "string"),
        _F(11, "is_first", "bool"),
        _F(12, "history_comment_cursor", "string"),
        _F(13, "history_no_more", "bool"),
    ),
    "PushHeader": (
        _F(1, "key", "string"),
        _F(2, "value", "string"),
    ),
    "WebcastPushFrame": (
        _F(1, "seq_id", "int64"),
        _F(2, "log_id", "int64"),
        _F(3, "service", "int64"),
        _F(4, "method", "int64"),
        _F(5, "headers", "PushHeader", repeated=True),
        _F(6, "payload_encoding", "string"),
        _F(7, "payload_type", "string"),
        _F(8, "payload", "bytes"),
    ),
    "HeartBeatMessage": (
        _F(1, "room_id", "int64"),
        _F(2, "send_packet_seq_id", "int64"),
    ),
    "WebcastImEnterRoomMessage": (
        _F(1, "room_id", "int64"),
        _F(2, "room_tag", "string"),
        _F(3, "live_region", "string"),
        _F(4, "live_id", "int64"),
        _F(5, "identity", "string"),
        _F(6, "cursor", "string"),
        _F(7, "account_type", "int64"),
        _F(8, "enter_unique_id", "int64"),
        _F(9, "filter_welcome_msg", "string"),
        _F(10, "is_anchor_continue_keep_msg", "bool"),
    ),
    "CommonMessageData": (
        _F(1, "method", "string"),
        _F(2, "msg_id", "int64"),
        _F(3, "room_id", "int64"),
        _F(4, "create_time", "int64"),
        _F(6, "is_show_msg", "bool"),
        _F(7, "describe", "string"),
    ),
    "ImageModel": (
        _F(1, "url_list", "string", repeated=True),
        _F(2, "uri", "string"),
    ),
    "User": (
        _F(1, "id", "int64"),
        _F(3, "nickname", "string"),
        _F(5, "bio_description", "string"),
        _F(9, "avatar_thumb", "ImageModel"),
        _F(38, "display_id", "string"),
        _F(46, "sec_uid", "string"),
    ),
    "Gift": (
        _F(1, "image", "ImageModel"),
        _F(2, "describe", "string"),
        _F(5, "id", "int64"),
        _F(10, "combo", "bool"),
        _F(11, "type", "int32"),
        _F(12, "diamond_count", "int32"),
        _F(16, "name", "string"),
    ),
    "WebcastChatMessage": (
        _F(1, "common", "CommonMessageData"),
        _F(2, "user", "User"),
        _F(3, "content", "string"),
        _F(14, "content_language", "string"),
    ),
    "WebcastGiftMessage": (
        _F(1, "common", "CommonMessageData"),
        _F(2, "gift_id", "int64"),
        _F(4, "group_count", "int32"),
        _F(5, "repeat_count", "int32"),
        _F(6, "combo_count", "int32"),
        _F(7, "user", "User"),
        _F(8, "to_user", "User"),
        _F(9, "repeat_end", "int32"),
        _F(11, "group_id", "int64"),
        _F(15, "gift", "Gift"),
        _F(17, "send_type", "int64"),
    ),
    "WebcastLikeMessage": (
        _F(1, "common", "CommonMessageData"),
        _F(2, "count", "int32"),
        _F(3, "total", "int64"),
        _F(5, "user", "User"),
    ),
    "WebcastMemberMessage": (
        _F(1, "common", "CommonMessageData"),
        _F(2, "user", "User"),
        _F(3, "member_count", "int32"),
        _F(9, "enter_type", "int32"),
        _F(10, "action", "int32"),
        _F(12, "user_id", "int64"),
    ),
}

_FDP = descriptor_pb2.FieldDescriptorProto
_SCALARS: dict[str, int] = {
    "string": _FDP.TYPE_STRING,
    "bytes": _FDP.TYPE_BYTES,
    "bool": _FDP.TYPE_BOOL,
    "int32": _FDP.TYPE_INT32,
    "int64": _FDP.TYPE_INT64,
}


def _entry_name(field_name: str) -> str:
    """The nested map-entry message name protoc would give ``field_name`` (``route_params`` ->
    ``RouteParamsEntry``)."""
    return "".join(part.capitalize() for part in field_name.split("_")) + "Entry"


def _build_file() -> descriptor_pb2.FileDescriptorProto:
    """Turn :data:`_SCHEMA` into a proto3 ``FileDescriptorProto``."""
    fdp = descriptor_pb2.FileDescriptorProto(name="ttsign/webcast.proto", package=PACKAGE, syntax="proto3")
    for msg_name, fields in _SCHEMA.items():
        msg = fdp.message_type.add(name=msg_name)
        for f in fields:
            fd = msg.field.add(name=f.name, number=f.number, json_name=_json_name(f.name))
            if f.type == "map<string,string>":
                entry = msg.nested_type.add(name=_entry_name(f.name))
                entry.options.map_entry = True
                entry.field.add(name="key", number=1, type=_FDP.TYPE_STRING, label=_FDP.LABEL_OPTIONAL)
                entry.field.add(name="value", number=2, type=_FDP.TYPE_STRING, label=_FDP.LABEL_OPTIONAL)
                fd.label = _FDP.LABEL_REPEATED
                fd.type = _FDP.TYPE_MESSAGE
                fd.type_name = f".{PACKAGE}.{msg_name}.{entry.name}"
                continue
            fd.label = _FDP.LABEL_REPEATED if f.repeated else _FDP.LABEL_OPTIONAL
            if f.type in _SCALARS:
                fd.type = _SCALARS[f.type]  # type: ignore[assignment]
            elif f.type in _SCHEMA:
                fd.type = _FDP.TYPE_MESSAGE
                fd.type_name = f".{PACKAGE}.{f.type}"
            else:  # pragma: no cover - a typo in _SCHEMA
                raise TypeError(f"unknown field type {f.type!r} in {msg_name}.{f.name}")
    return fdp


def _json_name(name: str) -> str:
    """lowerCamelCase, as protoc derives ``json_name``."""
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_build_file())


def _cls(name: str) -> type[Message]:
    """The generated message class for ``name`` in our private pool."""
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.{name}"))


BaseProtoMessage: type[Message] = _cls("BaseProtoMessage")
ProtoMessageFetchResult: type[Message] = _cls("ProtoMessageFetchResult")
PushHeader: type[Message] = _cls("PushHeader")
WebcastPushFrame: type[Message] = _cls("WebcastPushFrame")
HeartBeatMessage: type[Message] = _cls("HeartBeatMessage")
WebcastImEnterRoomMessage: type[Message] = _cls("WebcastImEnterRoomMessage")
CommonMessageData: type[Message] = _cls("CommonMessageData")
ImageModel: type[Message] = _cls("ImageModel")
User: type[Message] = _cls("User")
Gift: type[Message] = _cls("Gift")
WebcastChatMessage: type[Message] = _cls("WebcastChatMessage")
WebcastGiftMessage: type[Message] = _cls("WebcastGiftMessage")
WebcastLikeMessage: type[Message] = _cls("WebcastLikeMessage")
WebcastMemberMessage: type[Message] = _cls("WebcastMemberMessage")


def _parse(cls: type[Message], data: bytes) -> Any:
    """Parse ``data`` as ``cls``, turning protobuf's errors into :class:`ProtoDecodeError`."""
    msg = cls()
    try:
        msg.ParseFromString(bytes(data))
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ProtoDecodeError(f"not a valid {cls.DESCRIPTOR.name}: {exc}") from exc
    return msg


# --------------------------------------------------------------------------------------------------
# gzip
# --------------------------------------------------------------------------------------------------


def is_gzip(data: bytes) -> bool:
    """Whether ``data`` starts with the gzip magic (the connector's test: ``1f 8b 08``)."""
    return bytes(data[:3]) == GZIP_MAGIC


def gzip_bytes(data: bytes) -> bytes:
    """Gzip ``data`` deterministically (``mtime=0``)."""
    return gzip.compress(data, mtime=0)


def maybe_gunzip(data: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """Decompress ``data`` when it is a gzip stream (one member or several), else return it unchanged.

    Never inflates more than ``limit`` + 1 bytes; past ``limit``, or on a corrupt or truncated stream,
    raises :class:`ProtoDecodeError`.
    """
    if not is_gzip(data):
        return bytes(data)
    out = bytearray()
    rest = bytes(data)
    try:
        while rest:
            member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing: header, CRC, size
            out += member.decompress(rest, limit + 1 - len(out))
            if len(out) > limit:
                raise ProtoDecodeError(f"gzip stream inflates to larger than {limit} bytes")
            if not member.eof:
                raise ProtoDecodeError("broken gzip stream: it ends before its end-of-stream marker")
            rest = member.unused_data
    except zlib.error as exc:
        raise ProtoDecodeError(f"broken gzip stream: {exc}") from exc
    return bytes(out)


# --------------------------------------------------------------------------------------------------
# ProtoMessageFetchResult
# --------------------------------------------------------------------------------------------------


def base_message(method: str, payload: bytes, msg_id: int = 0, *, is_history: bool = False) -> Any:
    """One ``BaseProtoMessage`` envelope: the method name TikTok uses to route it, and its payload."""
    return BaseProtoMessage(method=method, payload=payload, msg_id=msg_id, is_history=is_history)


def encode_fetch_result(
    *,
    cursor: str,
    push_server: str = "",
    route_params: Mapping[str, str] | None = None,
    internal_ext: str = "",
    is_first: bool = False,
    need_ack: bool = False,
    messages: Iterable[Any] = (),
    fetch_interval: int = 1000,
    now_ms: int | None = None,
    fetch_type: int = 1,
    heartbeat_duration: int = 10000,
    history_comment_cursor: str = "",
    history_no_more: bool = False,
    compress: bool = False,
) -> bytes:
    """Serialize a ``ProtoMessageFetchResult``.

    ``messages`` are ``BaseProtoMessage`` instances (see :func:`base_message`) or
    ``(method, payload, msg_id)`` tuples. ``now_ms`` defaults to the current time. With
    ``compress`` the bytes are gzipped, as TikTok does inside ``msg`` push frames.
    """
    result = ProtoMessageFetchResult(
        cursor=cursor,
        fetch_interval=fetch_interval,
        now=int(time.time() * 1000) if now_ms is None else now_ms,
        internal_ext=internal_ext,
        fetch_type=fetch_type,
        heartbeat_duration=heartbeat_duration,
        need_ack=need_ack,
        push_server=push_server,
        is_first=is_first,
        history_comment_cursor=history_comment_cursor,
        history_no_more=history_no_more,
    )
    for k, v in (route_params or {}).items():
        result.route_params[k] = v
    for m in messages:
        if isinstance(m, tuple):
            result.messages.append(base_message(*m))
        else:
            result.messages.append(m)
    data = result.SerializeToString()
    return gzip_bytes(data) if compress else data


def decode_fetch_result(data: bytes) -> Any:
    """Parse ``ProtoMessageFetchResult`` bytes (gunzipping them first when they are gzip)."""
    return _parse(ProtoMessageFetchResult, maybe_gunzip(data))


# --------------------------------------------------------------------------------------------------
# WebcastPushFrame
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedPushFrame:
    """A decoded ``WebcastPushFrame``.

    ``payload`` is the raw payload as sent; :attr:`data` is the payload with gzip undone when the
    ``compress_type=gzip`` header says so (or the bytes carry the gzip magic).
    """

    payload_type: str
    payload: bytes = b""
    log_id: int = 0
    seq_id: int = 0
    service: int = 0
    method: int = 0
    payload_encoding: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def compressed(self) -> bool:
        """Whether the payload is gzip, by header or by magic bytes."""
        return self.headers.get("compress_type") == "gzip" or is_gzip(self.payload)

    @property
    def data(self) -> bytes:
        """The payload, decompressed when needed."""
        return maybe_gunzip(self.payload) if self.compressed else self.payload

    def fetch_result(self) -> Any:
        """The payload parsed as a ``ProtoMessageFetchResult`` (``msg``/``im_enter_room_resp``)."""
        return _parse(ProtoMessageFetchResult, self.data)


def push_frame(
    payload_type: str,
    payload: bytes = b"",
    *,
    log_id: int = 0,
    seq_id: int = 0,
    service: int = 0,
    method: int = 0,
    headers: Mapping[str, str] | None = None,
    payload_encoding: str = "pb",
    compress: bool = False,
) -> bytes:
    """Serialize a ``WebcastPushFrame``.

    With ``compress`` the payload is gzipped and the ``compress_type=gzip`` header is added, the way
    TikTok answers a socket opened with ``compress=gzip`` (TikTokLive decompresses only on that
    header; the connector sniffs the magic bytes).
    """
    all_headers = dict(headers or {})
    if compress:
        payload = gzip_bytes(payload)
        all_headers["compress_type"] = "gzip"
    frame = WebcastPushFrame(
        seq_id=seq_id,
        log_id=log_id,
        service=service,
        method=method,
        payload_encoding=payload_encoding,
        payload_type=payload_type,
        payload=payload,
    )
    for k, v in all_headers.items():
        frame.headers.append(PushHeader(key=k, value=v))
    return frame.SerializeToString()


def parse_push_frame(data: bytes) -> ParsedPushFrame:
    """Decode a ``WebcastPushFrame``; later duplicate header keys win."""
    frame = _parse(WebcastPushFrame, data)
    return ParsedPushFrame(
        payload_type=frame.payload_type,
        payload=bytes(frame.payload),
        log_id=frame.log_id,
        seq_id=frame.seq_id,
        service=frame.service,
        method=frame.method,
        payload_encoding=frame.payload_encoding,
        headers={h.key: h.value for h in frame.headers},
    )


def encode_heartbeat(room_id: int, seq_id: int = 1) -> bytes:
    """A ``HeartBeatMessage`` payload (the ``hb`` frame's payload)."""
    return HeartBeatMessage(room_id=room_id, send_packet_seq_id=seq_id).SerializeToString()


def encode_enter_room(
    room_id: int,
    *,
    enter_unique_id: int = 0,
    cursor: str = "",
    identity: str = "audience",
    live_id: int = 12,
) -> bytes:
    """A ``WebcastImEnterRoomMessage`` payload, as both client libraries send it."""
    return WebcastImEnterRoomMessage(
        room_id=room_id,
        live_id=live_id,
        identity=identity,
        cursor=cursor,
        enter_unique_id=enter_unique_id,
        filter_welcome_msg="0",
    ).SerializeToString()


# --------------------------------------------------------------------------------------------------
# Event messages (builders for the fake and tests, readable decoding for the CLI)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventUser:
    """The viewer an event is about: numeric id, nickname and ``@handle``."""

    id: int
    nickname: str
    unique_id: str
    sec_uid: str = ""
    avatar_url: str = ""

    def to_proto(self) -> Any:
        """This user as a ``User`` message."""
        user = User(id=self.id, nickname=self.nickname, display_id=self.unique_id, sec_uid=self.sec_uid)
        if self.avatar_url:
            user.avatar_thumb.url_list.append(self.avatar_url)
        return user


def _common(method: str, msg_id: int, room_id: int, create_time: int | None) -> Any:
    return CommonMessageData(
        method=method,
        msg_id=msg_id,
        room_id=room_id,
        create_time=int(time.time() * 1000) if create_time is None else create_time,
        is_show_msg=True,
    )


def chat_message(*, msg_id: int, room_id: int, user: EventUser, content: str, create_time: int | None = None) -> bytes:
    """A ``WebcastChatMessage`` payload (TikTokLive ``CommentEvent``, connector ``chat``)."""
    return WebcastChatMessage(
        common=_common(METHOD_CHAT, msg_id, room_id, create_time),
        user=user.to_proto(),
        content=content,
        content_language="en",
    ).SerializeToString()


def gift_message(
    *,
    msg_id: int,
    room_id: int,
    user: EventUser,
    gift_id: int,
    gift_name: str,
    diamond_count: int = 1,
    repeat_count: int = 1,
    combo_count: int = 1,
    repeat_end: int = 1,
    group_id: int = 0,
    combo: bool = True,
    create_time: int | None = None,
) -> bytes:
    """A ``WebcastGiftMessage`` payload (TikTokLive ``GiftEvent``, connector ``gift``).

    ``repeat_end=1`` marks the end of a streak, the message that carries the total.
    """
    return WebcastGiftMessage(
        common=_common(METHOD_GIFT, msg_id, room_id, create_time),
        gift_id=gift_id,
        group_count=1,
        repeat_count=repeat_count,
        combo_count=combo_count,
        user=user.to_proto(),
        repeat_end=repeat_end,
        group_id=group_id,
        gift=Gift(id=gift_id, name=gift_name, diamond_count=diamond_count, combo=combo, type=1),
    ).SerializeToString()


def like_message(
    *, msg_id: int, room_id: int, user: EventUser, count: int, total: int, create_time: int | None = None
) -> bytes:
    """A ``WebcastLikeMessage`` payload (TikTokLive ``LikeEvent``, connector ``like``)."""
    return WebcastLikeMessage(
        common=_common(METHOD_LIKE, msg_id, room_id, create_time),
        count=count,
        total=total,
        user=user.to_proto(),
    ).SerializeToString()


def member_message(
    *,
    msg_id: int,
    room_id: int,
    user: EventUser,
    member_count: int,
    action: int = 1,
    create_time: int | None = None,
) -> bytes:
    """A ``WebcastMemberMessage`` payload (TikTokLive ``JoinEvent``, connector ``member``)."""
    return WebcastMemberMessage(
        common=_common(METHOD_MEMBER, msg_id, room_id, create_time),
        user=user.to_proto(),
        member_count=member_count,
        action=action,
        user_id=user.id,
    ).SerializeToString()


_EVENT_CLASSES: dict[str, tuple[str, type[Message]]] = {
    METHOD_CHAT: ("chat", WebcastChatMessage),
    METHOD_GIFT: ("gift", WebcastGiftMessage),
    METHOD_LIKE: ("like", WebcastLikeMessage),
    METHOD_MEMBER: ("member", WebcastMemberMessage),
}


def _user_dict(msg: Any) -> dict[str, Any] | None:
    if not msg.HasField("user"):
        return None
    u = msg.user
    return {"id": str(u.id), "nickname": u.nickname, "unique_id": u.display_id}


def decode_event(method: str, payload: bytes) -> dict[str, Any]:
    """Decode one event payload into a readable dict for diagnostics.

    Always has ``type`` (``chat``, ``gift``, ``like``, ``member`` or ``unknown``) and ``method``;
    known types add ``msg_id``, ``room_id``, ``user`` (``{id, nickname, unique_id}`` or ``None``)
    and ``text`` (chat), ``gift`` (gift), ``likes``/``total`` (like) or ``member_count``/``action``
    (member). Ids are strings, so the dict survives JSON in JavaScript. Raises
    :class:`ProtoDecodeError` on bytes that do not parse as the message ``method`` names.
    """
    known = _EVENT_CLASSES.get(method)
    if known is None:
        return {"type": "unknown", "method": method, "size": len(payload)}
    kind, cls = known
    msg = _parse(cls, payload)
    out: dict[str, Any] = {
        "type": kind,
        "method": method,
        "msg_id": str(msg.common.msg_id),
        "room_id": str(msg.common.room_id),
        "user": _user_dict(msg),
    }
    if kind == "chat":
        out["text"] = msg.content
    elif kind == "gift":
        out["gift"] = {
            "id": msg.gift_id or msg.gift.id,
            "name": msg.gift.name,
            "diamond_count": msg.gift.diamond_count,
            "repeat_count": msg.repeat_count,
            "combo_count": msg.combo_count,
            "repeat_end": msg.repeat_end,
        }
    elif kind == "like":
        out["likes"] = msg.count
        out["total"] = msg.total
    else:
        out["member_count"] = msg.member_count
        out["action"] = msg.action
    return out


def fetch_result_to_dict(result: Any, *, decode_events: bool = True) -> dict[str, Any]:
    """A ``ProtoMessageFetchResult`` as a JSON-ready dict; events decoded with :func:`decode_event`.

    An event that fails to decode is listed as ``{"type": "undecodable", "method", "error"}``.
    """
    messages: list[dict[str, Any]] = []
    for m in result.messages:
        entry: dict[str, Any]
        if decode_events:
            try:
                entry = decode_event(m.method, m.payload)
            except ProtoDecodeError as exc:
                entry = {"type": "undecodable", "method": m.method, "error": str(exc)}
        else:
            entry = {"method": m.method, "size": len(m.payload)}
        entry["envelope_msg_id"] = str(m.msg_id)
        messages.append(entry)
    return {
        "cursor": result.cursor,
        "fetch_interval": result.fetch_interval,
        "now": result.now,
        "internal_ext": result.internal_ext,
        "fetch_type": result.fetch_type,
        "route_params": dict(result.route_params),
        "heartbeat_duration": result.heartbeat_duration,
        "need_ack": result.need_ack,
        "push_server": result.push_server,
        "is_first": result.is_first,
        "history_comment_cursor": result.history_comment_cursor,
        "history_no_more": result.history_no_more,
        "messages": messages,
    }
