"""The Euler-compatible WebSocket (issue 12): `@eulerstream/euler-websocket-sdk` connects to ttsign unmodified.

Point the SDK at ttsign with `EULER_WS_URL=ws://HOST:PORT` (its `createWebSocketUrl` opens that URL with the
query: `uniqueId`, `apiKey` or `jwtKey`, `features.*`); the socket listens at `/` (a WebSocket only: the
landing page at `/` stays HTTP) and at `/v1/euler/ws` (for a server behind a path prefix).

* Auth is the API-key middleware's (`ttsign.server.pipeline.api_key_auth`): `apiKey=` (or the `X-Api-Key`
  header), or a room token from `POST /v1/tokens` as `jwtKey=` or `token=`. A refusal closes with 4401
  (4403 for a token of another room).
* Options: `ttsign.relay.euler_options` (which flags are honoured and which ignored); a bad one closes with
  4400. Encodings: `ttsign.relay.euler_codec` (JSON by default, binary `WebcastPushFrame`s with
  `features.rawMessages=true`).
* Events come from the relay hub (`services.relay`, one upstream socket per room shared with the SSE and
  JSON WebSocket subscribers), every TikTok message once: each gift update of a combo as TikTok sent it,
  as Euler does (a combo the hub ended by timeout is not sent twice).
* Close codes, Euler's: 4404 not live or no such user, 4429 too many connections (the relay's limits),
  4005 the LIVE ended (after its last messages), 4500 TikTok closed the room, 4006 nothing from TikTok for
  `features.closeInactiveWebSocketAfter` seconds, 4555 the max lifetime (`TTSIGN_RELAY_MAX_LIFETIME`),
  1011 the relay is not configured; also ttsign's 4009 (this client read too slowly and was cut off) and
  1001 (the server is shutting down).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from ttsign.relay import euler_codec as codec
from ttsign.relay.euler_options import EulerOptions, OptionsError, parse_options
from ttsign.relay.events import RelayEvent
from ttsign.relay.hub import RelayRefused, Subscription
from ttsign.server import logs
from ttsign.server.pipeline.api_key_auth import EULER_WS_PATHS, query_params

router = APIRouter()

CLOSE_INVALID_OPTIONS = 4400
CLOSE_NO_MESSAGES = 4006
CLOSE_INTERNAL = 1011
CLOSE_NORMAL = 1000
SEEN_MSG_IDS = 512
_MAX_REASON_BYTES = 123


def _reason(text: str) -> str:
    return text.encode("utf-8")[:_MAX_REASON_BYTES].decode("utf-8", "ignore")


class EulerSession:
    """One client socket: the subscription's events in the client's encoding, until one side ends it."""

    def __init__(self, ws: WebSocket, options: EulerOptions, sub: Subscription) -> None:
        self.ws = ws
        self.options = options
        self.sub = sub
        self.seq = 0
        self.sent = 0
        self.seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def _fresh(self, event: RelayEvent) -> bool:
        """A TikTok message not sent yet (the hub's timeout-ended combo repeats the last update's bytes)."""
        if not event.method or not event.payload or event.data.get("ended") == "timeout":
            return False
        msg_id = str(event.data.get("msg_id") or "")
        if not msg_id:
            return True
        key = (event.method, msg_id)
        if key in self.seen:
            return False
        self.seen[key] = None
        if len(self.seen) > SEEN_MSG_IDS:
            self.seen.popitem(last=False)
        return True

    async def send_events(self, events: list[RelayEvent]) -> None:
        now_ms = int(time.time() * 1000)
        messages = [
            codec.EulerMessage(e.method, e.payload, _int(e.data.get("msg_id"))) for e in events if self._fresh(e)
        ]
        if self.options.raw_messages:
            if messages:
                self.seq += 1
                await self.ws.send_bytes(codec.raw_frame(messages, seq_id=self.seq, now_ms=now_ms))
                self.sent += len(messages)
            return
        items = [codec.json_message(m, include_raw=self.options.include_raw_bytes) for m in messages]
        for e in events:
            if e.type == "control" and e.data.get("source") == "ttsign" and e.data.get("action") == "connected":
                items.append(codec.custom("tiktok.connect", {"agentId": "ttsign", "roomId": e.room_id}))
        for frame in codec.json_frames(items, bundle=self.options.bundle_events, now_ms=now_ms):
            await self.ws.send_text(frame)
        self.sent += len(messages)

    async def send_custom(self, kind: str, data: dict[str, Any]) -> None:
        if self.options.raw_messages:
            return
        for frame in codec.json_frames(
            [codec.custom(kind, data)], bundle=self.options.bundle_events, now_ms=int(time.time() * 1000)
        ):
            await self.ws.send_text(frame)

    async def pump(self) -> tuple[int, str]:
        """Forward events until the subscription ends or TikTok is silent too long; the close to send."""
        idle = self.options.close_inactive_after_s
        while True:
            event = await self.sub.next(timeout=idle)
            if event is None:
                if self.sub.end is not None:
                    return self.sub.end
                return CLOSE_NO_MESSAGES, f"no messages from TikTok in {idle:g} s"
            await self.send_events([event, *self.sub.pending()])


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


async def _client_gone(ws: WebSocket) -> None:
    """Returns when the client closes (anything it sends is read and ignored)."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state != WebSocketState.DISCONNECTED and ws.client_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):  # the client may be gone already
            await ws.close(code, _reason(reason))


async def euler_socket(websocket: WebSocket) -> None:
    started = time.monotonic()
    caller = str(websocket.scope.get("state", {}).get("caller") or "anonymous")
    await websocket.accept()
    code, reason, room, sent = CLOSE_INTERNAL, "", "", 0
    try:
        try:
            options = parse_options(query_params(websocket.scope))
        except OptionsError as err:
            code, reason = CLOSE_INVALID_OPTIONS, str(err)
            return
        room = options.unique_id
        hub = getattr(websocket.app.state.services, "relay", None)
        if hub is None:
            code, reason = CLOSE_INTERNAL, "the relay is not configured on this server (no upstream client)"
            return
        try:
            sub = await hub.subscribe(room, owner=caller, raw=True, streaks=True)
        except RelayRefused as err:
            code, reason = err.code, err.message
            return
        session = EulerSession(websocket, options, sub)
        try:
            await session.send_custom(
                "workerInfo",
                {
                    "webSocketId": uuid.uuid4().hex,
                    "schemaVersion": options.schema_version,
                    "features": _features(options),
                },
            )
            pump = asyncio.ensure_future(session.pump())
            gone = asyncio.ensure_future(_client_gone(websocket))
            try:
                done, _ = await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (pump, gone):
                    if not task.done():
                        task.cancel()
                        with contextlib.suppress(BaseException):
                            await task
            if pump in done and not pump.cancelled() and pump.exception() is None:
                code, reason = pump.result()
                await session.send_custom("tiktok.disconnect", {"reason": code})
            else:
                code, reason = CLOSE_NORMAL, "closed by the client"
        finally:
            sent = session.sent
            sub.close()
    except Exception as exc:  # a send to a client that went away, or a bug: close, log, never raise
        if code == CLOSE_INTERNAL and not reason:
            reason = f"internal error: {type(exc).__name__}"
    finally:
        await _close(websocket, code, reason or "closed")
        logs.get_logger("ttsign.relay").info(  # looked up per socket: the process may reconfigure logging
            "euler_ws",
            path=websocket.scope.get("path", ""),
            room=room,
            caller=caller,
            close_code=code,
            close_reason=reason[:200],
            messages_sent=sent,
            seconds=round(time.monotonic() - started, 3),
        )


def _features(options: EulerOptions) -> dict[str, Any]:
    return {
        "bundleEvents": options.bundle_events,
        "rawMessages": options.raw_messages,
        "normalizeUniqueId": options.normalize_unique_id,
        "syntheticPresence": options.synthetic_presence,
        "syntheticPresenceLeaveAfter": options.synthetic_presence_leave_after_s,
        "closeInactiveWebSocketAfter": options.close_inactive_after_s,
        "schemaVersion": options.schema_version,
        "includeRawBytes": options.include_raw_bytes,
        "useEnterpriseApi": options.use_enterprise_api,
    }


for _path in sorted(EULER_WS_PATHS):
    router.add_api_websocket_route(_path, euler_socket, name=f"euler_ws{_path.replace('/', '_')}")
