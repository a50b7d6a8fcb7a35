"""Scripted push frames for the offline fake TikTok, and the way to push them to a room's open sockets.

The fake (`tests/fakes/tiktok.py`) registers every accepted socket with its `RoomPusher` by the room id of its
query, so a test can:

* count a room's open sockets: `fake.pusher.count(room_id)` (every socket is also in `fake.state()["sockets"]`);
* push frames to every open socket of a room: `fake.pusher.push(room_id, frames)` from a test's thread (the fake
  runs in its own), `await fake.pusher.push_async(room_id, frames)` from the fake's loop, or over HTTP with
  `POST /__rooms/{room_id}/push` and a JSON body `{"frames": ["<base64 frame>", ...]}` (answers `{"sockets": n}`).

The builders make the frames: `msg(...)` wraps messages the way TikTok does (a `msg` push frame carrying a
`ProtoMessageFetchResult`, `need_ack` and an `internal_ext`), and `chat`, `gift`, `gift_combo`, `like`, `member`,
`follow`, `share`, `viewers`, `room_end`, `pause` and `unknown` make one message each (method, payload).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from ttsign.tiktok import proto

Message = tuple[str, bytes]
"""(method, payload): one message of a `msg` frame."""

_ids = itertools.count(int(time.time() * 1000) * 1000)
_log_ids = itertools.count(20_001)

VIEWER = proto.EventUser(id=7000000000000000101, nickname="Scripted Viewer", unique_id="scripted_viewer")


def _id() -> int:
    return next(_ids)


def msg(messages: Iterable[Message], *, room_id: int = 0, log_id: int | None = None, compress: bool = False) -> bytes:
    """One `msg` push frame carrying `messages`, asking for an ack like TikTok's."""
    lid = next(_log_ids) if log_id is None else log_id
    now = int(time.time() * 1000)
    result = proto.encode_fetch_result(
        cursor=f"t-{now}_r-{lid}_d-1_u-1_h-1",
        internal_ext=f"internal_src:pushserver|wss_push_room_id:{room_id}|wss_push_log_id:{lid}|fetch_time:{now}",
        need_ack=True,
        now_ms=now,
        fetch_type=0,
        messages=[proto.base_message(method, payload, _id()) for method, payload in messages],
    )
    return proto.push_frame("msg", result, log_id=lid, seq_id=lid, compress=compress)


def close_frame(reason: str) -> bytes:
    """TikTok's server-side `close` frame."""
    return proto.push_frame("close", b"", headers={"close_reason": reason})


def chat(text: str, *, room_id: int = 0, user: proto.EventUser = VIEWER) -> Message:
    return proto.METHOD_CHAT, proto.chat_message(msg_id=_id(), room_id=room_id, user=user, content=text)


def like(count: int, total: int, *, room_id: int = 0, user: proto.EventUser = VIEWER) -> Message:
    return proto.METHOD_LIKE, proto.like_message(msg_id=_id(), room_id=room_id, user=user, count=count, total=total)


def member(viewers: int, *, room_id: int = 0, user: proto.EventUser = VIEWER) -> Message:
    return proto.METHOD_MEMBER, proto.member_message(msg_id=_id(), room_id=room_id, user=user, member_count=viewers)


def gift(
    name: str = "Rose",
    *,
    gift_id: int = 5655,
    diamonds: int = 1,
    repeat_count: int = 1,
    repeat_end: int = 1,
    group_id: int = 1,
    combo: bool = True,
    room_id: int = 0,
    user: proto.EventUser = VIEWER,
) -> Message:
    payload = proto.gift_message(
        msg_id=_id(),
        room_id=room_id,
        user=user,
        gift_id=gift_id,
        gift_name=name,
        diamond_count=diamonds,
        repeat_count=repeat_count,
        combo_count=repeat_count,
        repeat_end=repeat_end,
        group_id=group_id,
        combo=combo,
    )
    if not combo:  # a gift that cannot be a combo: Gift.type 0
        m = proto.WebcastGiftMessage.FromString(payload)
        m.gift.type = 0  # type: ignore[attr-defined]
        payload = m.SerializeToString()
    return proto.METHOD_GIFT, payload


def gift_combo(taps: int, *, group_id: int = 7, room_id: int = 0, **kw: Any) -> list[Message]:
    """A combo of `taps` gifts: `taps - 1` streak updates (`repeat_end` 0), then the end with the total."""
    updates = [gift(repeat_count=n, repeat_end=0, group_id=group_id, room_id=room_id, **kw) for n in range(1, taps)]
    return [*updates, gift(repeat_count=taps, repeat_end=1, group_id=group_id, room_id=room_id, **kw)]


def follow(followers: int = 1000, *, room_id: int = 0, user: proto.EventUser = VIEWER) -> Message:
    payload = proto.social_message(
        msg_id=_id(), room_id=room_id, user=user, action=proto.SOCIAL_FOLLOW, follow_count=followers
    )
    return proto.METHOD_SOCIAL, payload


def share(shares: int = 1, *, room_id: int = 0, user: proto.EventUser = VIEWER) -> Message:
    action = proto.SOCIAL_SHARE
    payload = proto.social_message(msg_id=_id(), room_id=room_id, user=user, action=action, share_count=shares)
    return proto.METHOD_SOCIAL, payload


def viewers(count: int, *, room_id: int = 0) -> Message:
    return proto.METHOD_ROOM_USER_SEQ, proto.room_user_seq_message(msg_id=_id(), room_id=room_id, viewers=count)


def room_end(*, room_id: int = 0, suspended: bool = False) -> Message:
    action = proto.CONTROL_SUSPENDED if suspended else proto.CONTROL_ENDED
    return proto.METHOD_CONTROL, proto.control_message(msg_id=_id(), room_id=room_id, action=action)


def pause(*, room_id: int = 0) -> Message:
    return proto.METHOD_CONTROL, proto.control_message(msg_id=_id(), room_id=room_id, action=proto.CONTROL_PAUSED)


def unknown(method: str = "WebcastNotInOurSchemaMessage", payload: bytes = b"\x08\x2a\x12\x03abc") -> Message:
    return method, payload


class RoomPusher:
    """The fake's open sockets by room id, and pushing frames to them (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sockets: dict[str, set[web.WebSocketResponse]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pushed = 0

    def opened(self, room_id: str, ws: web.WebSocketResponse) -> None:
        self.loop = asyncio.get_running_loop()
        with self.lock:
            self.sockets.setdefault(room_id, set()).add(ws)

    def closed(self, room_id: str, ws: web.WebSocketResponse) -> None:
        with self.lock:
            self.sockets.get(room_id, set()).discard(ws)

    def count(self, room_id: str) -> int:
        """The open sockets of `room_id` now."""
        with self.lock:
            return sum(1 for ws in self.sockets.get(room_id, ()) if not ws.closed)

    async def push_async(self, room_id: str, frames: Iterable[bytes]) -> int:
        """Send `frames`, in order, to every open socket of `room_id`; returns how many sockets got them."""
        with self.lock:
            targets = [ws for ws in self.sockets.get(room_id, ()) if not ws.closed]
        data = list(frames)

        async def send_all(ws: web.WebSocketResponse) -> bool:
            try:
                for frame in data:
                    await ws.send_bytes(frame)
            except (ConnectionError, RuntimeError):  # a socket closing meanwhile
                return False
            return True

        sent = await asyncio.gather(*(send_all(ws) for ws in targets))  # one slow socket never holds up another
        self.pushed += len(data) * sum(sent)
        return sum(sent)

    def push(self, room_id: str, frames: Iterable[bytes], timeout: float = 10.0) -> int:
        """`push_async` from another thread (the fake serves from its own loop)."""
        if self.loop is None:
            return 0
        return asyncio.run_coroutine_threadsafe(self.push_async(room_id, list(frames)), self.loop).result(timeout)

    async def close_async(self, room_id: str, code: int = 1000) -> int:
        """Close every open socket of `room_id` from the fake's side."""
        with self.lock:
            targets = [ws for ws in self.sockets.get(room_id, ()) if not ws.closed]
        for ws in targets:
            await ws.close(code=code)
        return len(targets)

    def close(self, room_id: str, code: int = 1000, timeout: float = 10.0) -> int:
        if self.loop is None:
            return 0
        return asyncio.run_coroutine_threadsafe(self.close_async(room_id, code), self.loop).result(timeout)

    async def route(self, request: web.Request) -> web.Response:
        """`POST /__rooms/{room_id}/push` with `{"frames": [base64, ...]}`."""
        try:
            body = json.loads(await request.text() or "{}")
            frames = [base64.b64decode(f) for f in body["frames"]]
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"ok": False, "error": f"bad push body: {exc}"}, status=400)
        n = await self.push_async(request.match_info["room_id"], frames)
        return web.json_response({"ok": True, "sockets": n})
