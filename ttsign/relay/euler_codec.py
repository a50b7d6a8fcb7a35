"""What the Euler-compatible socket sends: the encodings `@eulerstream/euler-websocket-sdk` 0.0.6 reads.

Two encodings, chosen by the client's `features.rawMessages` flag:

* **raw** (`features.rawMessages=true`): binary frames, each a `WebcastPushFrame` (`payloadEncoding` "pb",
  `payloadType` "msg") whose payload is a `ProtoMessageFetchResult` holding the room's messages as TikTok
  sent them (`BaseProtoMessage`: method name in field 1, payload bytes in field 2). The SDK's own
  `deserializeWebSocketMessage(bytes, "v2")` decodes them, nested messages included. The field numbers are
  TikTok's, the same as `ttsign.tiktok.proto` writes to its clients, so that module encodes them.
* **JSON** (the default): text frames. With `features.bundleEvents` (default true) one frame per batch,
  `{"timestamp": ms, "messages": [{"type": "WebcastChatMessage", "data": {...}}, ...]}`; without it one
  `{"type", "data"}` object per frame. `data` is the message as the SDK's v2 schema names it (camelCase:
  `comment`, `user.uniqueId`, `giftDetails.giftName`, ...), decoded here from the payload with the field
  table below: only fields present on the wire are sent (the SDK's decoder would add defaults), 64-bit
  integers are strings and 32-bit ones numbers, exactly as the SDK's decoder turns them. With
  `features.includeRawBytes` each message also carries `"raw"`: its payload bytes in base64, which
  `deserializeMessage(type, bytes, "v2")` decodes to the same values. A type the table does not cover
  gets its `common` block only. Server events use the SDK's custom types: `workerInfo` when the socket
  opens, `tiktok.connect` once the room's upstream is connected, `tiktok.disconnect` before a close.

Pure: bytes in, bytes or dicts out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ttsign.tiktok import proto

# ---- the field table: the subset of the SDK's v2 schema ttsign decodes to JSON --------------------------
# number -> (name, kind, repeated). Kinds: string, bool, int32, int64, uint64, or another table's name.
# Field numbers are TikTok's (protocol facts); the names are the ones the SDK's schema gives them.

Field = tuple[str, str, bool]
_S, _B, _I32, _I64, _U64 = "string", "bool", "int32", "int64", "uint64"


def _f(name: str, kind: str, repeated: bool = False) -> Field:
    return (name, kind, repeated)


SCHEMA: dict[str, dict[int, Field]] = {
    "CommonMessageData": {
        1: _f("method", _S),
        2: _f("msgId", _I64),
        3: _f("roomId", _I64),
        4: _f("createTime", _I64),
        6: _f("isShowMsg", _B),
        7: _f("describe", _S),
        8: _f("displayText", "Text"),
    },
    "Text": {1: _f("displayType", _S), 2: _f("defaultPattern", _S)},
    "Image": {1: _f("url", _S, True), 2: _f("mUri", _S), 3: _f("height", _I32), 4: _f("width", _I32)},
    "User": {
        1: _f("userId", _I64),
        3: _f("nickname", _S),
        5: _f("bioDescription", _S),
        9: _f("profilePicture", "Image"),
        12: _f("verified", _B),
        38: _f("uniqueId", _S),
        46: _f("secUid", _S),
    },
    "Gift": {
        1: _f("giftImage", "Image"),
        2: _f("describe", _S),
        4: _f("duration", _I32),
        5: _f("id", _I64),
        10: _f("combo", _B),
        11: _f("giftType", _I32),
        12: _f("diamondCount", _I32),
        16: _f("giftName", _S),
    },
    "WebcastChatMessage": {
        1: _f("common", "CommonMessageData"),
        2: _f("user", "User"),
        3: _f("comment", _S),
        14: _f("contentLanguage", _S),
    },
    "WebcastGiftMessage": {
        1: _f("common", "CommonMessageData"),
        2: _f("giftId", _I32),
        3: _f("fanTicketCount", _I64),
        4: _f("groupCount", _I32),
        5: _f("repeatCount", _I32),
        6: _f("comboCount", _I32),
        7: _f("user", "User"),
        8: _f("toUser", "User"),
        9: _f("repeatEnd", _I32),
        11: _f("groupId", _U64),
        15: _f("giftDetails", "Gift"),
        17: _f("sendType", _I64),
    },
    "WebcastLikeMessage": {
        1: _f("common", "CommonMessageData"),
        2: _f("likeCount", _I32),
        3: _f("totalLikeCount", _I32),
        5: _f("user", "User"),
    },
    "WebcastMemberMessage": {
        1: _f("common", "CommonMessageData"),
        2: _f("user", "User"),
        3: _f("memberCount", _I32),
        9: _f("enterType", _I64),
        10: _f("action", _I32),
        12: _f("userId", _I64),
    },
    "WebcastSocialMessage": {
        1: _f("common", "CommonMessageData"),
        2: _f("user", "User"),
        3: _f("shareType", _I64),
        4: _f("action", _I64),
        5: _f("shareTarget", _S),
        6: _f("followCount", _I32),
        7: _f("shareDisplayStyle", _I64),
        8: _f("shareCount", _I32),
    },
    "WebcastRoomUserSeqMessage": {
        1: _f("common", "CommonMessageData"),
        3: _f("viewerCount", _I32),
        6: _f("popularity", _I64),
        7: _f("totalUser", _I32),
    },
    "WebcastControlMessage": {1: _f("common", "CommonMessageData"), 2: _f("action", _I32), 3: _f("tips", _S)},
}
_SCALARS = frozenset({_B, _I32, _I64, _U64})
_COMMON_ONLY: dict[int, Field] = {1: _f("common", "CommonMessageData")}
MAX_DEPTH = 8


class WireError(ValueError):
    """Bytes that are not a protobuf message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7


def _scalar(kind: str, value: int) -> Any:
    if kind == _B:
        return value != 0
    if kind == _I32:  # the SDK's reader.int32(): the low 32 bits, signed
        low = value & 0xFFFFFFFF
        return low - (1 << 32) if low >= 1 << 31 else low
    if kind == _I64:  # reader.int64().toString()
        return str(value - (1 << 64) if value >= 1 << 63 else value)
    return str(value)  # uint64


def decode(table: Mapping[int, Field], data: bytes, depth: int = 0) -> dict[str, Any]:
    """The fields of `data` named by `table` (unknown fields skipped), as the SDK's decoder values them."""
    if depth > MAX_DEPTH:
        raise WireError("message nested too deep")
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        field = table.get(number)
        if wire == 0:
            value, pos = _varint(data, pos)
            decoded: Any = _scalar(field[1], value) if field and field[1] in _SCALARS else None
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise WireError("a length past the end of the message")
            chunk, pos = data[pos : pos + length], pos + length
            decoded = None
            if field is not None:
                kind = field[1]
                if kind == _S:
                    decoded = chunk.decode("utf-8", "replace")
                elif kind in SCHEMA:
                    decoded = decode(SCHEMA[kind], chunk, depth + 1)
                else:  # a packed repeated scalar: not in the table's subset
                    field = None
        elif wire == 1:
            pos, decoded, field = pos + 8, None, None
        elif wire == 5:
            pos, decoded, field = pos + 4, None, None
        else:
            raise WireError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise WireError("a fixed-width field past the end of the message")
        if field is None or decoded is None:
            continue
        name, _, repeated = field
        if repeated:
            out.setdefault(name, []).append(decoded)
        else:
            out[name] = decoded
    return out


def message_data(method: str, payload: bytes) -> dict[str, Any]:
    """A message's `data` in the SDK's v2 names; `{}` for bytes that do not parse."""
    try:
        return decode(SCHEMA.get(method, _COMMON_ONLY), payload)
    except WireError:
        return {}


# ---- the frames -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EulerMessage:
    """One TikTok message to send: its method name, payload bytes and msg id (0 when unknown)."""

    method: str
    payload: bytes
    msg_id: int = 0


def raw_frame(messages: Sequence[EulerMessage], *, seq_id: int, now_ms: int) -> bytes:
    """One binary `WebcastPushFrame` carrying `messages` in a `ProtoMessageFetchResult` (the raw encoding)."""
    result = proto.encode_fetch_result(
        cursor=f"t-{now_ms}_r-{seq_id}",
        now_ms=now_ms,
        fetch_type=0,
        messages=[proto.base_message(m.method, m.payload, m.msg_id) for m in messages],
    )
    return proto.push_frame("msg", result, log_id=seq_id, seq_id=seq_id)


def json_message(message: EulerMessage, *, include_raw: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": message.method, "data": message_data(message.method, message.payload)}
    if include_raw:
        out["raw"] = base64.b64encode(message.payload).decode("ascii")
    return out


def custom(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """One of the SDK's server-side event types (`workerInfo`, `tiktok.connect`, `tiktok.disconnect`)."""
    return {"type": kind, "data": dict(data)}


def json_frames(items: Iterable[dict[str, Any]], *, bundle: bool, now_ms: int) -> list[str]:
    """The text frames for these `{type, data}` items: one bundle, or one frame each."""
    listed = list(items)
    if not listed:
        return []
    if bundle:
        return [_dumps({"timestamp": now_ms, "messages": listed})]
    return [_dumps(item) for item in listed]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
