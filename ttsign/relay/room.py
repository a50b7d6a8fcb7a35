"""One LIVE room of the relay: its upstream socket (reconnected with backoff), decoding, buffer and fan-out.

Life of a room: the first subscriber opens it (`start`): a room lookup by username (404 when the user does not
exist or is not LIVE), then the upstream socket (`ttsign.relay.upstream.open_socket`); `ready` resolves once the
socket is open, or fails with the `RelayRefused` every waiting subscriber gets. Then frames are read, `msg` frames
acked when they ask for it, their messages decoded (`events.Decoder`) and every event numbered, buffered and
offered to each subscriber's queue; a full queue cuts that subscriber off (4009), never waits for it. A heartbeat
goes out every `heartbeat_duration`.

When the socket closes, TikTok is asked whether the room is still alive: not alive is a `room_end` event and the
end of every subscription (4005, after their queued events); alive, the room reconnects with backoff (1, 2, 4 ...
30 s, or TikTok's own wait when the identity pool is at its pace), through the same connect path, so each
reconnect is paced like any connect. A reconnect that fails `max_reconnects` times in a row (TikTok refusing the
socket, a banned identity, no identity left) ends every subscription with 4500 and the reason. A `WebcastControlMessage`
saying the LIVE ended or was suspended is a `room_end` at once. The room closes `TTSIGN_RELAY_GRACE` seconds after
its last subscriber left (a new subscriber in that time keeps it).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed, WebSocketException

from ttsign.algorithms.navigator import get_preset
from ttsign.relay.buffer import EventBuffer
from ttsign.relay.events import Decoded, Decoder, RelayEvent, control
from ttsign.relay.hub import BAD_INPUT, END_ROOM, END_UPSTREAM, NOT_LIVE, RelayRefused, Subscription
from ttsign.tiktok import proto
from ttsign.tiktok.client import caller_budget_s
from ttsign.tiktok.rooms import RoomError
from ttsign.tiktok.socket import SocketRefused
from ttsign.tiktok.webcast import ConnectError

if TYPE_CHECKING:
    from ttsign.relay.hub import RelayHub
    from ttsign.relay.upstream import UpstreamSocket

ROOM_HTTP = {"not_found": 404, "bad_input": 400, "region_blocked": 451, "rate_limited": 503, "timeout": 504}
CONNECT_HTTP = {"identity": 503, "rate_limited": 503, "timeout": 504, "bad_input": 400}
TICK_S = 1.0
"""How often a room checks its heartbeat and running gift combos."""
YIELD_S = 0.002
"""Reading a burst of frames already buffered, the room lets its subscribers run at least this often."""
WAKE_S = 0.002
"""Subscribers are woken at most this often (a burst's events reach them together); the first event at once."""


class _Ended(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Room:
    def __init__(self, hub: RelayHub, unique_id: str) -> None:
        self.hub = hub
        self.unique_id = unique_id
        self.room_id = ""
        self.subscribers: set[Subscription] = set()
        self.owners: dict[str, int] = {}
        self.buffer = EventBuffer(hub.settings.relay_buffer)
        self.decoder = Decoder()
        self.next_id = 1
        self.loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = self.loop.create_future()
        self.done = False
        self.task: asyncio.Task[None] | None = None
        self.sock: UpstreamSocket | None = None
        self.grace: asyncio.TimerHandle | None = None
        self.opened_at = time.time()
        self.reconnects = 0
        self.events_in = 0
        self.preset = get_preset(hub.settings.browser_preset)
        self._wake_at: asyncio.Handle | None = None
        self._woke = 0.0

    # ---- subscribers ---------------------------------------------------------------------------------------

    def has_owner(self, owner: str) -> bool:
        return self.owners.get(owner, 0) > 0

    def join(self, sub: Subscription) -> None:
        self.subscribers.add(sub)
        self.owners[sub.owner] = self.owners.get(sub.owner, 0) + 1
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None

    def leave(self, sub: Subscription) -> None:
        if sub not in self.subscribers:
            return
        self.subscribers.discard(sub)
        left = self.owners.get(sub.owner, 1) - 1
        if left > 0:
            self.owners[sub.owner] = left
        else:
            self.owners.pop(sub.owner, None)
        if not self.subscribers and not self.done:
            grace = self.hub.settings.relay_grace_s
            self.grace = self.loop.call_later(grace, self._grace_over)

    def _grace_over(self) -> None:
        self.grace = None
        if not self.subscribers and not self.done:
            self.hub.counters["rooms_closed_idle"] += 1
            self.loop.create_task(self.stop(), name=f"relay-close-{self.unique_id}")

    def end_all(self, code: int, reason: str, *, drain: bool = False) -> None:
        for sub in list(self.subscribers):
            sub.finish(code, reason, drain=drain)

    # ---- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> None:
        self.task = self.loop.create_task(self._run(), name=f"relay-room-{self.unique_id}")

    async def stop(self) -> None:
        """Close the upstream socket and forget the room (its subscribers should have ended already)."""
        if self.done:
            return
        self._mark_done()
        task = self.task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            try:
                await task
            except BaseException:  # cancelled, or its own failure: the room is gone either way
                pass
        if self.sock is not None:
            await self.sock.close()
            self.sock = None

    def abandon(self) -> None:
        """Drop the room without awaiting anything (its event loop is gone)."""
        self.done = True
        self.subscribers.clear()

    def _mark_done(self) -> None:
        if self.done:
            return
        self.done = True
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None
        self._fail_ready(RelayRefused(END_UPSTREAM, 503, "the room closed before its socket opened"))
        self.hub._forget(self)

    def _fail_ready(self, exc: RelayRefused) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc)
            self.ready.exception()  # retrieved: no "never retrieved" warning when nobody waits

    def describe(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "room_id": self.room_id,
            "subscribers": len(self.subscribers),
            "connected": self.sock is not None,
            "strategy": self.sock.strategy if self.sock is not None else None,
            "last_event_id": self.next_id - 1,
            "buffered": len(self.buffer),
            "events_in": self.events_in,
            "reconnects": self.reconnects,
            "opened_at": int(self.opened_at),
        }

    # ---- publishing ----------------------------------------------------------------------------------------

    def publish(self, decoded: list[Decoded]) -> None:
        if not decoded:
            return
        now_ms = int(time.time() * 1000)
        observer = self.hub.observer
        subs = list(self.subscribers)
        for d in decoded:
            event = RelayEvent(self.next_id, d.type, d.data, d.method, d.payload, now_ms, self.room_id)
            self.next_id += 1
            self.buffer.add(event)
            self.events_in += 1
            observer.event_in(d.type)
            delivered = 0
            for sub in subs:
                got = sub.offer(event)
                if got > 0:
                    delivered += 1
                elif got < 0:
                    self.hub.counters["cut_slow"] += 1
                    observer.dropped(1)
                    sub.finish(
                        4009,
                        f"too slow: {sub.limit} events waited unread (TTSIGN_RELAY_QUEUE={sub.queue_size}); "
                        "the subscriber was cut off so the room's other subscribers are not delayed",
                        drain=False,
                    )
            if delivered:
                observer.events_out(d.type, delivered)
        self._schedule_wake()

    def _schedule_wake(self) -> None:
        """Wake the subscribers now, or, within `WAKE_S` of the last wake, once at its end: under a burst each wake
        hands a subscriber several events (one task switch each, not one per event); an idle room adds no delay."""
        if self._wake_at is not None:
            return
        since = self.loop.time() - self._woke
        if since >= WAKE_S:
            self._wake_at = self.loop.call_soon(self._wake)
        else:
            self._wake_at = self.loop.call_later(WAKE_S - since, self._wake)

    def _wake(self) -> None:
        self._wake_at = None
        self._woke = self.loop.time()
        for sub in list(self.subscribers):
            sub.wake()

    # ---- the upstream --------------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._lookup()
            await self._connect_loop()
        except _Ended as end:
            self.end_all(end.code, end.reason, drain=True)
        except RelayRefused as exc:
            self._fail_ready(exc)
            self.end_all(exc.code, exc.message, drain=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: the subscribers learn it ended, the log has the traceback
            import structlog

            structlog.get_logger("ttsign.relay").exception("relay_room_failed", unique_id=self.unique_id)
            refused = RelayRefused(END_UPSTREAM, 502, f"the relay failed on this room: {type(exc).__name__}")
            self._fail_ready(refused)
            self.end_all(END_UPSTREAM, refused.message, drain=True)
        finally:
            flushed = self.decoder.expire(0.0, everything=True)
            if flushed and self.subscribers:
                self.publish(flushed)
            if self.sock is not None:
                await self.sock.close()
                self.sock = None
            self._mark_done()

    def _deadline(self) -> float:
        return self.loop.time() + caller_budget_s(self.hub.settings)

    async def _lookup(self) -> None:
        try:
            async with asyncio.timeout_at(self._deadline()):
                found = await self.hub.client.rooms.lookup(self.unique_id)
        except TimeoutError:
            raise RelayRefused(END_UPSTREAM, 504, "TikTok did not answer the room lookup in time") from None
        except RoomError as exc:
            if exc.kind == "not_found":
                raise RelayRefused(NOT_LIVE, 404, f"no TikTok user '{self.unique_id}': {exc}") from None
            code = BAD_INPUT if exc.kind == "bad_input" else END_UPSTREAM
            status = ROOM_HTTP.get(exc.kind, 502)
            raise RelayRefused(code, status, f"room lookup failed: {exc}", retry_after_s=exc.retry_after_s) from None
        if not found.room_id or not found.is_live:
            raise RelayRefused(NOT_LIVE, 404, f"TikTok user '{self.unique_id}' is not LIVE now (no room to relay)")
        self.room_id = str(found.room_id)

    async def _open(self) -> UpstreamSocket:
        s = self.hub.settings
        try:
            return await self.hub.connector(
                self.hub.client,
                self.room_id,
                self.preset,
                deadline=self._deadline(),
                open_timeout_s=s.upstream_timeout_s,
            )
        except ConnectError as exc:
            status = CONNECT_HTTP.get(exc.kind, 502)
            raise RelayRefused(
                END_UPSTREAM, status, f"connect failed: {exc}", retry_after_s=exc.retry_after_s
            ) from None
        except SocketRefused as exc:
            raise RelayRefused(END_UPSTREAM, 502, f"TikTok refused the room's socket: {exc.handshake_msg}") from None
        except TimeoutError:
            raise RelayRefused(END_UPSTREAM, 504, "TikTok did not answer the connect in time") from None
        except ValueError as exc:
            raise RelayRefused(END_UPSTREAM, 502, f"the connect answer is unusable: {exc}") from None

    async def _connect_loop(self) -> None:
        failures = 0
        first = True
        while True:
            try:
                sock = await self._open()
            except RelayRefused as exc:
                if first:
                    raise
                failures += 1
                if failures >= self.hub.max_reconnects:
                    self.publish([control("upstream_failed", reason=exc.message, attempts=failures)])
                    why = f"TikTok closed the room and {failures} reconnects failed: {exc.message}"
                    raise _Ended(END_UPSTREAM, why) from None
                await self._backoff(failures, exc.retry_after_s, exc.message)
                continue
            self.sock = sock
            if first:
                first = False
                self.ready.set_result(None)
                self.publish([control("connected", room_id=self.room_id, strategy=sock.strategy)])
            else:
                self.reconnects += 1
                self.hub.counters["reconnects"] += 1
                self.hub.observer.reconnect()
                self.publish([control("connected", room_id=self.room_id, strategy=sock.strategy, reconnect=True)])
            got_messages, why = await self._pump(sock)
            self.sock = None
            await sock.close()
            if got_messages:
                failures = 0
            alive = await self._alive()
            if alive is False:
                self.publish([Decoded("room_end", {"reason": "TikTok says the room is no longer live", "action": ""})])
                raise _Ended(END_ROOM, "the LIVE ended")
            self.publish([control("upstream_closed", reason=why)])
            failures += 1
            if failures >= self.hub.max_reconnects:
                raise _Ended(END_UPSTREAM, f"TikTok kept closing the room's socket ({failures} times): {why}")
            await self._backoff(failures, 0.0, why)

    async def _backoff(self, failures: int, retry_after_s: float, why: str) -> None:
        low, high = self.hub.backoff_s
        wait = max(retry_after_s, min(high, low * 2 ** (failures - 1))) * (1 + random.random() / 4)
        self.publish([control("reconnecting", reason=why, in_s=round(wait, 2), attempt=failures)])
        await asyncio.sleep(wait)

    async def _alive(self) -> bool | None:
        try:
            async with asyncio.timeout_at(self._deadline()):
                result: bool | None = await self.hub.client.rooms.check_alive(self.room_id)
                return result
        except (RoomError, TimeoutError, Exception):  # unknown: reconnect, the socket will tell
            return None

    async def _pump(self, sock: UpstreamSocket) -> tuple[bool, str]:
        """Read the socket until it closes; (whether it delivered messages, why it closed)."""
        ticker = self.loop.create_task(self._tick(sock), name=f"relay-hb-{self.unique_id}")
        got = False
        yielded = self.loop.time()
        try:
            async for raw in sock.ws:
                if isinstance(raw, str):
                    continue
                try:
                    frame = proto.parse_push_frame(raw)
                except proto.ProtoDecodeError:
                    continue
                kind = frame.payload_type
                if kind == "msg":
                    try:
                        result = frame.fetch_result()
                    except proto.ProtoDecodeError:
                        continue
                    if result.need_ack:
                        try:
                            await sock.ack(frame.log_id, result.internal_ext)
                        except (WebSocketException, OSError):
                            pass
                    now = time.monotonic()
                    decoded: list[Decoded] = []
                    for m in result.messages:
                        decoded += self.decoder.decode(m.method, bytes(m.payload), now)
                    got = got or bool(decoded)
                    self.publish(decoded)
                    if self.loop.time() - yielded >= YIELD_S:  # a burst of buffered frames: let subscribers drain
                        await asyncio.sleep(0)
                        yielded = self.loop.time()
                    end = next((d for d in decoded if d.type == "room_end"), None)
                    if end is not None:
                        raise _Ended(END_ROOM, str(end.data.get("reason") or "the LIVE ended"))
                elif kind == "close":
                    return got, f"TikTok closed the socket ({frame.headers.get('close_reason') or 'no reason'})"
            return got, f"the socket closed (code {sock.ws.close_code})"
        except ConnectionClosed as exc:
            return got, f"the socket closed (code {exc.rcvd.code if exc.rcvd else 'none'})"
        except (WebSocketException, OSError) as exc:
            return got, f"the socket failed: {exc}"
        finally:
            ticker.cancel()

    async def _tick(self, sock: UpstreamSocket) -> None:
        seq = 1
        next_hb = self.loop.time() + sock.heartbeat_s
        try:
            while True:
                await asyncio.sleep(TICK_S)
                if self.decoder.streaks:
                    self.publish(self.decoder.expire(time.monotonic()))
                if self.loop.time() >= next_hb:
                    seq += 1
                    next_hb = self.loop.time() + sock.heartbeat_s
                    await sock.send_heartbeat(seq)
        except (WebSocketException, OSError):
            return
