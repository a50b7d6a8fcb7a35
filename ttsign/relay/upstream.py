"""One room's upstream socket: the connect path ttsign already has, opened by ttsign itself.

`open_socket` asks the configured connect strategy (`TikTokClient.connect`: an identity from the pool, paced, and
the direct / relay / auto strategy with any socket signer) for the fetch result, then dials its `push_server` with
its `route_params` and the player's own params (`ttsign.tiktok.socket.socket_url`), the identity's cookies and the
preset's User-Agent, and sends `im_enter_room` and a first heartbeat, as the web player does.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus, WebSocketException

from ttsign.algorithms.navigator import BrowserPreset
from ttsign.tiktok import proto
from ttsign.tiktok.socket import SocketRefused, socket_url
from ttsign.tiktok.webcast import ConnectRequest

MAX_FRAME_BYTES = 8 << 20


@dataclass
class UpstreamSocket:
    """An open, entered room socket; `heartbeat_s` is how often the room must send `hb`."""

    ws: ClientConnection
    room_id: int
    heartbeat_s: float
    strategy: str

    async def send_heartbeat(self, seq: int) -> None:
        await self.ws.send(proto.push_frame("hb", proto.encode_heartbeat(self.room_id, seq)))

    async def ack(self, log_id: int, internal_ext: str) -> None:
        await self.ws.send(proto.push_frame("ack", internal_ext.encode() or b"-", log_id=log_id))

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.ws.close(), timeout=1.0)
        except (TimeoutError, WebSocketException, OSError):
            pass


async def open_socket(
    client: Any, room_id: str, preset: BrowserPreset, *, deadline: float, open_timeout_s: float
) -> UpstreamSocket:
    """Connect `room_id`'s socket. Raises `ConnectError` (no identity, TikTok failing), `SocketRefused` (the
    handshake refused or the socket unreachable), `ValueError` (a fetch result that does not parse) or
    `TimeoutError` (past `deadline`, a loop time)."""
    async with asyncio.timeout_at(deadline):
        result = await client.connect(ConnectRequest(room_id, preset.user_agent, "", deadline))
    fetched = proto.decode_fetch_result(result.body)
    extra = dict(fetched.route_params)
    if result.strategy == "relay" and fetched.cursor:  # what im/fetch answered: resume from its cursor
        extra.setdefault("cursor", fetched.cursor)
        extra.setdefault("internal_ext", fetched.internal_ext)
    url = socket_url(fetched.push_server, room_id, preset, extra)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in result.cookies), "User-Agent": preset.user_agent}
    try:
        ws = await asyncio.wait_for(
            websockets.connect(url, additional_headers=headers, ping_interval=None, max_size=MAX_FRAME_BYTES),
            timeout=open_timeout_s,
        )
    except InvalidStatus as exc:
        resp = exc.response
        msg = resp.headers.get("handshake-msg") or "no handshake-msg"
        raise SocketRefused(resp.status_code, msg) from None
    except (OSError, WebSocketException, TimeoutError) as exc:
        raise SocketRefused(0, f"could not open the socket: {exc or type(exc).__name__}") from None
    rid = int(room_id)
    sock = UpstreamSocket(ws, rid, max(1.0, (fetched.heartbeat_duration or 10000) / 1000), result.strategy)
    try:
        await ws.send(
            proto.push_frame("im_enter_room", proto.encode_enter_room(rid, enter_unique_id=random.getrandbits(31)))
        )
        await sock.send_heartbeat(1)
    except (WebSocketException, OSError) as exc:
        await sock.close()
        raise SocketRefused(0, f"the socket closed while entering the room: {exc}") from None
    return sock
