"""Our own minimal protobuf schema for the TikTok LIVE webcast wire format, and helpers around it.

The schema has one source, ``webcast.proto`` beside this module: only the messages ttsign needs, and
only the fields it reads or writes. Field numbers are protocol facts (see
``shared/protocol/live-connect.md`` §1.3); the names are ours. Unknown fields sent by TikTok are
preserved by the protobuf runtime and ignored here. ``python -m ttsign.tiktok.protogen`` turns the
``.proto`` into ``webcast_pb.py`` (its serialized descriptor, loaded into a private descriptor pool,
and the message classes with typed fields); no ``protoc`` is needed, so nothing couples a ``protoc``
version to the installed ``protobuf`` runtime, and a test fails while the two files disagree.

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
from typing import Any, TypeVar

from google.protobuf.message import DecodeError, Message

from ttsign.tiktok.webcast_pb import (
    PACKAGE,
    BaseProtoMessage,
    CommonMessageData,
    Gift,
    HeartBeatMessage,
    ImageModel,
    ProtoMessageFetchResult,
    PushHeader,
    Text,
    User,
    WebcastChatMessage,
    WebcastControlMessage,
    WebcastGiftMessage,
    WebcastImEnterRoomMessage,
    WebcastLikeMessage,
    WebcastMemberMessage,
    WebcastPushFrame,
    WebcastRoomUserSeqMessage,
    WebcastSocialMessage,
)

__all__ = [
    "GZIP_MAGIC",
    "METHOD_CHAT",
    "METHOD_CONTROL",
    "METHOD_GIFT",
    "METHOD_LIKE",
    "METHOD_MEMBER",
    "METHOD_ROOM_USER_SEQ",
    "METHOD_SOCIAL",
    "PACKAGE",
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
    "Text",
    "User",
    "WebcastChatMessage",
    "WebcastControlMessage",
    "WebcastGiftMessage",
    "WebcastImEnterRoomMessage",
    "WebcastLikeMessage",
    "WebcastMemberMessage",
    "WebcastPushFrame",
    "WebcastRoomUserSeqMessage",
    "WebcastSocialMessage",
    "base_message",
    "chat_message",
    "control_message",
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
    "room_user_seq_message",
    "social_message",
]

GZIP_MAGIC = b"\x1f\x8b\x08"
"""The first three bytes of a gzip stream (deflate method): what tiktok-live-connector sniffs."""

MAX_INFLATED_BYTES = 8 * 1024 * 1024
"""The most a gzip payload may inflate to (a fetch result or frame is a few KiB): a gzip bomb from a
hostile upstream stops here, with a ``ProtoDecodeError``, instead of filling memory."""

METHOD_CHAT = "WebcastChatMessage"
METHOD_GIFT = "WebcastGiftMessage"
METHOD_LIKE = "WebcastLikeMessage"
METHOD_MEMBER = "WebcastMemberMessage"
METHOD_SOCIAL = "WebcastSocialMessage"
METHOD_ROOM_USER_SEQ = "WebcastRoomUserSeqMessage"
METHOD_CONTROL = "WebcastControlMessage"
SOCIAL_FOLLOW, SOCIAL_SHARE = 1, 3
"""`WebcastSocialMessage.action` values: a follow, a share."""
CONTROL_PAUSED, CONTROL_RESUMED, CONTROL_ENDED, CONTROL_SUSPENDED = 1, 2, 3, 4
"""`WebcastControlMessage.action` values: the stream paused, resumed, ended, suspended (by TikTok)."""


class ProtoDecodeError(ValueError):
    """Bytes that are not a valid encoding of the expected message (or a broken gzip stream, or one
    that inflates past ``MAX_INFLATED_BYTES``)."""


_M = TypeVar("_M", bound=Message)


def _parse(cls: type[_M], data: bytes) -> _M:
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


def base_message(method: str, payload: bytes, msg_id: int = 0, *, is_history: bool = False) -> BaseProtoMessage:
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
    messages: Iterable[BaseProtoMessage | tuple[str, bytes, int]] = (),
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


def decode_fetch_result(data: bytes) -> ProtoMessageFetchResult:
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

    def fetch_result(self) -> ProtoMessageFetchResult:
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

    def to_proto(self) -> User:
        """This user as a ``User`` message."""
        user = User(id=self.id, nickname=self.nickname, display_id=self.unique_id, sec_uid=self.sec_uid)
        if self.avatar_url:
            user.avatar_thumb.url_list.append(self.avatar_url)
        return user


def _common(method: str, msg_id: int, room_id: int, create_time: int | None) -> CommonMessageData:
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


def social_message(
    *,
    msg_id: int,
    room_id: int,
    user: EventUser,
    action: int = SOCIAL_FOLLOW,
    follow_count: int = 0,
    share_count: int = 0,
    display_key: str = "",
    create_time: int | None = None,
) -> bytes:
    """A ``WebcastSocialMessage`` payload: ``action`` :data:`SOCIAL_FOLLOW` or :data:`SOCIAL_SHARE`."""
    common = _common(METHOD_SOCIAL, msg_id, room_id, create_time)
    if display_key:
        common.display_text.key = display_key
    return WebcastSocialMessage(
        common=common,
        user=user.to_proto(),
        action=action,
        follow_count=follow_count,
        share_count=share_count,
    ).SerializeToString()


def room_user_seq_message(*, msg_id: int, room_id: int, viewers: int, create_time: int | None = None) -> bytes:
    """A ``WebcastRoomUserSeqMessage`` payload: the room's viewer count."""
    return WebcastRoomUserSeqMessage(
        common=_common(METHOD_ROOM_USER_SEQ, msg_id, room_id, create_time), total=viewers, total_user=viewers
    ).SerializeToString()


def control_message(
    *, msg_id: int, room_id: int, action: int = CONTROL_ENDED, tips: str = "", create_time: int | None = None
) -> bytes:
    """A ``WebcastControlMessage`` payload (``action`` :data:`CONTROL_ENDED`: the LIVE is over)."""
    return WebcastControlMessage(
        common=_common(METHOD_CONTROL, msg_id, room_id, create_time), action=action, tips=tips
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


def fetch_result_to_dict(result: ProtoMessageFetchResult, *, decode_events: bool = True) -> dict[str, Any]:
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
