"""The relay's JSON event schema, and the pure decoding of TikTok's messages into it (no I/O).

Every event a subscriber receives (SSE `data:`, one WebSocket text message, `ttsign watch --json`) is one
JSON object, the same on every surface:

```json
{"id": 7, "type": "chat", "room_id": "7451234567890123456", "at": 1764612345678,
 "method": "WebcastChatMessage", "data": {...}}
```

* `id`: the event's place in its room's sequence (1, 2, ... from the moment the room opened); SSE sends it as
  the `id:` line, so `Last-Event-ID` resumes after it.
* `type`: one of the types below; `method`: the TikTok message it came from (`""` for ttsign's own).
* `at`: when ttsign received it (unix milliseconds). `data`: the type's fields, below. Ids of users, messages
  and gifts are strings (JavaScript cannot hold a 64-bit integer).
* `raw` (only with `?raw=1`): the TikTok message's protobuf bytes, base64.

A `user` is `{"id", "unique_id" (the @handle), "nickname", "avatar_url"}`.

Types, their `data`, and the TikTok message each comes from:

* `chat`: `msg_id`, `user`, `text`, `language` (WebcastChatMessage).
* `gift`: `msg_id`, `user`, `gift {id, name, diamonds}`, `count`, `diamonds` (count x the gift's diamonds),
  `streak` (sent as a combo), `to_user` (or null). One event per gift: a combo is collapsed into one event
  when its streak ends (WebcastGiftMessage).
* `gift_streak` (only with `?streaks=1`): as `gift` plus `group_id`, `count` so far; each update of a running combo.
* `like`: `msg_id`, `user`, `count` (this burst of taps), `total` (the room's likes) (WebcastLikeMessage).
* `member`: `msg_id`, `user`, `action` (1: joined), `viewers` (WebcastMemberMessage).
* `follow`: `msg_id`, `user`, `followers`; `share`: `msg_id`, `user`, `shares` (WebcastSocialMessage, action 1 / 3).
* `viewers`: `msg_id`, `count`, `total_user` (WebcastRoomUserSeqMessage).
* `control`: `source` `tiktok` (WebcastControlMessage: `action` `paused` / `resumed`, `code`, `tips`) or `ttsign`
  (the relay's own: `connected` with `room_id` and `strategy` (and `reconnect`), `upstream_closed` and
  `reconnecting` with `reason`, `upstream_failed`).
* `room_end`: `reason`, `action` (WebcastControlMessage 3 ended / 4 suspended, or TikTok answering that the room is
  no longer alive after its socket closed). The last event of a room: the subscription ends after it.
* `unknown`: `method`, `size` (and the message in `raw` with `?raw=1`): any other message, passed through by name.

A message that does not parse as what its method names becomes `unknown` with `error`. A combo whose end never
arrives is emitted as a `gift` with `"ended": "timeout"` `STREAK_TIMEOUT_S` after its last update (or when the
room closes). New types may be added; existing fields keep their names and meaning.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from ttsign.tiktok import proto

TYPES = (
    "chat",
    "gift",
    "gift_streak",
    "like",
    "member",
    "follow",
    "share",
    "viewers",
    "room_end",
    "control",
    "unknown",
)
STREAK_TIMEOUT_S = 15.0
"""A running combo with no update for this long is emitted as ended (its last count)."""
COMBO_GIFT_TYPE = 1
"""`Gift.type` of a gift that can be sent as a combo (streak)."""
CONTROL_NAMES = {
    proto.CONTROL_PAUSED: "paused",
    proto.CONTROL_RESUMED: "resumed",
    proto.CONTROL_ENDED: "ended",
    proto.CONTROL_SUSPENDED: "suspended",
}


@dataclass(frozen=True, slots=True)
class RelayEvent:
    """One event of a room: `id` its per-room sequence number, `type` one of `TYPES`, `data` the documented JSON
    fields, `method` TikTok's message name (`""` for ttsign's own), `payload` the raw message, `at_ms` when ttsign
    received it, `room_id` the room's numeric id (a string)."""

    id: int
    type: str
    data: dict[str, Any]
    method: str = ""
    payload: bytes = b""
    at_ms: int = 0
    room_id: str = ""
    _json: dict[bool, str] = field(default_factory=dict, compare=False, repr=False)

    def as_json(self, *, raw: bool = False) -> dict[str, Any]:
        """The event as the documented JSON object (`raw`: with the message bytes in base64)."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "room_id": self.room_id,
            "at": self.at_ms,
            "method": self.method,
            "data": self.data,
        }
        if raw and self.payload:
            out["raw"] = base64.b64encode(self.payload).decode("ascii")
        return out

    def text(self, *, raw: bool = False) -> str:
        """`as_json` serialized (compact, UTF-8 kept), computed once per event and flag for every subscriber."""
        cached = self._json.get(raw)
        if cached is None:
            cached = json.dumps(self.as_json(raw=raw), ensure_ascii=False, separators=(",", ":"))
            self._json[raw] = cached
        return cached


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one TikTok message turns into, before the room numbers it."""

    type: str
    data: dict[str, Any]
    method: str = ""
    payload: bytes = b""


def user_json(msg: Any, name: str = "user") -> dict[str, Any] | None:
    """A message's user field (`name`) as the schema's `user`, or None when absent."""
    if not msg.HasField(name):
        return None
    u = getattr(msg, name)
    avatar = u.avatar_thumb.url_list[0] if u.HasField("avatar_thumb") and u.avatar_thumb.url_list else ""
    return {"id": str(u.id), "unique_id": u.display_id, "nickname": u.nickname, "avatar_url": avatar}


def _parse(cls: Any, payload: bytes) -> Any:
    msg = cls()
    msg.ParseFromString(payload)
    return msg


def _chat(method: str, payload: bytes) -> list[Decoded]:
    m = _parse(proto.WebcastChatMessage, payload)
    data = {"msg_id": str(m.common.msg_id), "user": user_json(m), "text": m.content, "language": m.content_language}
    return [Decoded("chat", data, method, payload)]


def _like(method: str, payload: bytes) -> list[Decoded]:
    m = _parse(proto.WebcastLikeMessage, payload)
    data = {"msg_id": str(m.common.msg_id), "user": user_json(m), "count": m.count, "total": m.total}
    return [Decoded("like", data, method, payload)]


def _member(method: str, payload: bytes) -> list[Decoded]:
    m = _parse(proto.WebcastMemberMessage, payload)
    data = {"msg_id": str(m.common.msg_id), "user": user_json(m), "action": m.action, "viewers": m.member_count}
    return [Decoded("member", data, method, payload)]


def _social(method: str, payload: bytes) -> list[Decoded]:
    m = _parse(proto.WebcastSocialMessage, payload)
    key = m.common.display_text.key if m.common.HasField("display_text") else ""
    base = {"msg_id": str(m.common.msg_id), "user": user_json(m)}
    if m.action == proto.SOCIAL_FOLLOW or "follow" in key:
        return [Decoded("follow", {**base, "followers": m.follow_count}, method, payload)]
    if m.action == proto.SOCIAL_SHARE or "share" in key:
        return [Decoded("share", {**base, "shares": m.share_count}, method, payload)]
    return [Decoded("unknown", {"method": method, "size": len(payload), "action": m.action}, method, payload)]


def _viewers(method: str, payload: bytes) -> list[Decoded]:
    m = _parse(proto.WebcastRoomUserSeqMessage, payload)
    data = {"msg_id": str(m.common.msg_id), "count": m.total, "total_user": m.total_user}
    return [Decoded("viewers", data, method, payload)]


def _control(method: str, payload: bytes) -> list[Decoded]:
    m = _parse(proto.WebcastControlMessage, payload)
    name = CONTROL_NAMES.get(m.action, "unknown")
    if m.action in (proto.CONTROL_ENDED, proto.CONTROL_SUSPENDED):
        reason = "the LIVE ended" if m.action == proto.CONTROL_ENDED else "TikTok suspended the LIVE"
        return [Decoded("room_end", {"reason": reason, "action": name, "tips": m.tips}, method, payload)]
    data = {"source": "tiktok", "action": name, "code": m.action, "tips": m.tips}
    return [Decoded("control", data, method, payload)]


DECODERS: dict[str, Callable[[str, bytes], list[Decoded]]] = {
    proto.METHOD_CHAT: _chat,
    proto.METHOD_LIKE: _like,
    proto.METHOD_MEMBER: _member,
    proto.METHOD_SOCIAL: _social,
    proto.METHOD_ROOM_USER_SEQ: _viewers,
    proto.METHOD_CONTROL: _control,
}


def control(action: str, **fields: Any) -> Decoded:
    """One of ttsign's own `control` events (`connected`, `reconnecting`, `upstream_closed`)."""
    return Decoded("control", {"source": "ttsign", "action": action, **fields})


@dataclass
class _Streak:
    data: dict[str, Any]
    method: str
    payload: bytes
    last: float


class Decoder:
    """Turns one room's messages into events, collapsing gift combos (the only state it keeps).

    A combo (a gift whose `Gift.type` is 1) sends an update per tap with `repeat_end` 0 and the running
    `repeat_count`, then one with `repeat_end` 1 and the total: the updates become `gift_streak` events, the end
    one `gift`. Any other gift is a `gift` at once.
    """

    def __init__(self, *, streak_timeout_s: float = STREAK_TIMEOUT_S) -> None:
        self.streak_timeout_s = streak_timeout_s
        self.streaks: dict[tuple[str, str, str], _Streak] = {}

    def decode(self, method: str, payload: bytes, now: float) -> list[Decoded]:
        """The events of one message received at `now` (monotonic seconds), expired combos first."""
        out = self.expire(now)
        try:
            if method == proto.METHOD_GIFT:
                out += self._gift(method, payload, now)
            else:
                known = DECODERS.get(method)
                if known is None:
                    out.append(Decoded("unknown", {"method": method, "size": len(payload)}, method, payload))
                else:
                    out += known(method, payload)
        except (DecodeError, ValueError, RuntimeError) as exc:
            data = {"method": method, "size": len(payload), "error": f"undecodable: {exc}"[:200]}
            out.append(Decoded("unknown", data, method, payload))
        return out

    def _gift(self, method: str, payload: bytes, now: float) -> list[Decoded]:
        m = _parse(proto.WebcastGiftMessage, payload)
        per = m.gift.diamond_count
        count = max(m.repeat_count, 1)
        combo = m.gift.type == COMBO_GIFT_TYPE
        user = user_json(m)
        data: dict[str, Any] = {
            "msg_id": str(m.common.msg_id),
            "user": user,
            "gift": {"id": str(m.gift_id or m.gift.id), "name": m.gift.name, "diamonds": per},
            "count": count,
            "diamonds": per * count,
            "streak": combo,
            "to_user": user_json(m, "to_user"),
        }
        if not combo:
            return [Decoded("gift", data, method, payload)]
        key = ((user or {}).get("id", ""), data["gift"]["id"], str(m.group_id))
        if m.repeat_end == 1:
            self.streaks.pop(key, None)
            return [Decoded("gift", data, method, payload)]
        self.streaks[key] = _Streak(data, method, payload, now)
        return [Decoded("gift_streak", {**data, "group_id": str(m.group_id)}, method, payload)]

    def expire(self, now: float, *, everything: bool = False) -> list[Decoded]:
        """Combos whose end never came (all of them with `everything`, when the room closes), as `gift`s."""
        gone = [k for k, s in self.streaks.items() if everything or now - s.last >= self.streak_timeout_s]
        out = []
        for key in gone:
            s = self.streaks.pop(key)
            out.append(Decoded("gift", {**s.data, "ended": "timeout"}, s.method, s.payload))
        return out
