"""A minimal LIVE socket client (websockets + our proto schema), used by `ttsign check`.

It opens the player's direct socket the way the web player does (live-connect.md §2.2): the player's
query set, the anonymous `ttwid` cookie, a browser UA; sends `im_enter_room` and a heartbeat; reads frames,
acks those that ask for it (log_id + internal_ext, §1.3) and decodes events. TikTok's refusal is an HTTP
200 instead of 101 with `handshake-msg`; that is reported as `SocketRefused`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.exceptions import InvalidStatus, WebSocketException

from ttsign.algorithms.navigator import BrowserPreset
from ttsign.tiktok import proto
from ttsign.tiktok.socket_query import player_params, with_query
from ttsign.tiktok.webcast import DIRECT_ROUTE_PARAMS


class SocketRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"socket refused (HTTP {status}): {message}")
        self.status = status
        self.handshake_msg = message


@dataclass
class SocketReport:
    url: str
    frames: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    acks: int = 0


def socket_url(ws_url: str, room_id: str, preset: BrowserPreset, extra: Mapping[str, str] | None = None) -> str:
    """The player's socket query (live-connect.md §2.2), including the deliberate second version_code."""
    player = player_params(preset)
    tail = {k: player.pop(k) for k in ("history_comment_count", "last_rtt")}
    params: dict[str, str] = {**DIRECT_ROUTE_PARAMS, **player, "room_id": room_id, **tail}
    params.update(extra or {})
    return with_query(ws_url, params)


async def watch(
    ws_url: str,
    room_id: str,
    *,
    cookies: Mapping[str, str],
    preset: BrowserPreset,
    max_events: int = 5,
    timeout_s: float = 15.0,
) -> SocketReport:
    """Connect, enter the room, and collect up to `max_events` decoded events within `timeout_s`."""
    url = socket_url(ws_url, room_id, preset)
    report = SocketReport(url)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "User-Agent": preset.user_agent}
    try:
        ws = await asyncio.wait_for(
            websockets.connect(url, additional_headers=headers, ping_interval=None, max_size=8 << 20),
            timeout=timeout_s,
        )
    except InvalidStatus as exc:
        resp = exc.response
        msg = resp.headers.get("handshake-msg") or resp.headers.get("Handshake-Msg") or "no handshake-msg"
        raise SocketRefused(resp.status_code, msg) from None
    except (OSError, WebSocketException, TimeoutError) as exc:
        raise SocketRefused(0, f"could not open the socket: {exc}") from None
    rid = int(room_id)
    async with ws:
        await ws.send(
            proto.push_frame("im_enter_room", proto.encode_enter_room(rid, enter_unique_id=random.getrandbits(31)))
        )
        await ws.send(proto.push_frame("hb", proto.encode_heartbeat(rid, 1)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(report.events) < max_events:
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=left)
            except (TimeoutError, WebSocketException):
                break
            if isinstance(raw, str):
                continue
            frame = proto.parse_push_frame(raw)
            report.frames.append(frame.payload_type)
            if frame.payload_type != "msg":
                continue
            result = frame.fetch_result()
            if result.need_ack:
                ext = result.internal_ext.encode() or b"-"
                await ws.send(proto.push_frame("ack", ext, log_id=frame.log_id))
                report.acks += 1
            report.events += proto.fetch_result_to_dict(result)["messages"]
    return report
