"""The relay hub: at most one upstream socket per LIVE room, its events fanned out to every subscriber.

The interface the relay's surfaces build on (SSE, the JSON WebSocket, the Euler-compatible WebSocket, the
overlay); these names are stable:

* `RelayHub.subscribe(unique_id, *, owner, raw=False, streaks=False, last_event_id=None) -> Subscription`
  opens the room on its first subscriber (room lookup, then the server's connect path: an identity from the pool,
  the connect strategy, the direct socket with acks and heartbeats) and returns once the upstream socket is open;
  a later subscriber joins the open room at once. `owner` is the caller (`scope["state"]["caller"]`: `key:<hash>`
  or `ip:<addr>`), counted against the limits. `last_event_id` replays the room's buffered events after that id
  (0: all of them); None starts from now. Raises `RelayRefused`.
* `Subscription`: an async iterator of `RelayEvent` (`events.py` documents the JSON); `close()` leaves the room;
  `.end` is `(code, reason)` once the subscription ended (None while it runs). After the room ends the
  subscriber still gets every queued event, `room_end` last, then the iteration stops; a subscriber cut off
  (too slow, max lifetime, shutdown) stops at once. `pending()` takes what is queued without waiting.
* `RelayHub.describe() -> dict`: rooms, subscribers and counters (for `/metrics`, status pages).
* `RelayRefused(code, http_status, message, retry_after_s=0)`: `code` is the Euler close code.

Close codes (`Subscription.end[0]` and `RelayRefused.code`), Euler's where Euler has one:
`4404` not live / no such user, `4400` a bad username, `4429` too many connections (a limit below),
`4500` TikTok closed or refused the room (after the reconnects), `4005` the LIVE ended, `4555` max lifetime
(`TTSIGN_RELAY_MAX_LIFETIME`), `4009` too slow (the subscriber's queue overflowed), `1000` closed by the
subscriber, `1001` the server is shutting down.

Limits (`TTSIGN_RELAY_*`): subscribers per owner (`SUBSCRIBERS_PER_KEY`), rooms per owner (`ROOMS_PER_KEY`: rooms
it has a subscriber in), rooms in all (`MAX_ROOMS`, the identity budget: rooms in their grace period count),
each refused with 4429 / HTTP 429. Each subscriber has a queue of `TTSIGN_RELAY_QUEUE` events: when it is full the
subscriber is cut off (4009) and the others never wait for it. A room keeps its last `TTSIGN_RELAY_BUFFER` events
for resume, and closes `TTSIGN_RELAY_GRACE` seconds after its last subscriber left.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ttsign.relay.events import RelayEvent
from ttsign.tiktok.rooms import RoomError, normalize_unique_id

if TYPE_CHECKING:
    from ttsign.config import Settings
    from ttsign.relay.room import Room

__all__ = [
    "END_BY_SUBSCRIBER",
    "END_LIFETIME",
    "END_ROOM",
    "END_SHUTDOWN",
    "END_SLOW",
    "END_UPSTREAM",
    "NOT_LIVE",
    "TOO_MANY",
    "RelayEvent",
    "RelayHub",
    "RelayRefused",
    "Subscription",
]

NOT_LIVE, BAD_INPUT, TOO_MANY = 4404, 4400, 4429
END_ROOM, END_UPSTREAM, END_LIFETIME, END_SLOW = 4005, 4500, 4555, 4009
END_BY_SUBSCRIBER, END_SHUTDOWN = 1000, 1001


class RelayRefused(Exception):
    """A subscription refused: `code` the Euler close code, `http_status` for HTTP surfaces, `message` why (at least
    19 characters), `retry_after_s` when waiting helps (0 otherwise)."""

    def __init__(self, code: int, http_status: int, message: str, *, retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.message = message
        self.retry_after_s = retry_after_s


class RelayObserver(Protocol):
    """What the hub reports (the server's metrics: `ttsign.server.metrics.RelayMetrics`)."""

    def rooms(self, n: int) -> None: ...
    def subscribers(self, n: int) -> None: ...
    def event_in(self, kind: str) -> None: ...
    def events_out(self, kind: str, n: int) -> None: ...
    def reconnect(self) -> None: ...
    def dropped(self, n: int) -> None: ...


class NoObserver:
    def rooms(self, n: int) -> None:
        pass

    def subscribers(self, n: int) -> None:
        pass

    def event_in(self, kind: str) -> None:
        pass

    def events_out(self, kind: str, n: int) -> None:
        pass

    def reconnect(self) -> None:
        pass

    def dropped(self, n: int) -> None:
        pass


class Subscription:
    """One subscriber of one room: a bounded queue the room fills and the subscriber drains."""

    def __init__(self, hub: RelayHub, room: Room, owner: str, *, raw: bool, streaks: bool, queue_size: int) -> None:
        self.hub = hub
        self.room = room
        self.owner = owner
        self.raw = raw
        self.streaks = streaks
        self.queue_size = queue_size
        self.limit = queue_size
        self.end: tuple[int, str] | None = None
        self.delivered = 0
        self.missed = 0
        """On a resume: how many events after `last_event_id` were no longer buffered."""
        self._items: deque[RelayEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._cut = False
        self._lifetime: asyncio.TimerHandle | None = None

    @property
    def unique_id(self) -> str:
        return self.room.unique_id

    @property
    def room_id(self) -> str:
        return self.room.room_id

    def wants(self, event: RelayEvent) -> bool:
        return self.streaks or event.type != "gift_streak"

    def replay(self, events: list[RelayEvent]) -> None:
        """Queue buffered events (a resume) beyond the live limit: the queue may hold them and a full one more."""
        kept = [e for e in events if self.wants(e)]
        self._items.extend(kept)
        self.limit = self.queue_size + len(kept)

    def offer(self, event: RelayEvent) -> int:
        """Queue a live event: 1 queued, 0 not wanted (or ended), -1 the queue is full (the caller cuts it off).
        The subscriber is woken by `wake`, which the room calls once for a burst of events."""
        if self.end is not None or not self.wants(event):
            return 0
        if len(self._items) >= self.limit:
            return -1
        self._items.append(event)
        return 1

    def wake(self) -> None:
        """Wake the subscriber when it waits and has events (the room calls it after offering, coalesced)."""
        waiter = self._waiter
        if waiter is not None and self._items and not waiter.done():
            waiter.set_result(None)

    def finish(self, code: int, reason: str, drain: bool = False) -> None:
        """End the subscription; `drain`: the subscriber still gets what is queued (a room that ended)."""
        if self.end is not None:
            return
        self.end = (code, reason)
        self._cut = not drain
        if not drain:
            self._items.clear()
        if self._lifetime is not None:
            self._lifetime.cancel()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.hub._detach(self)

    def close(self) -> None:
        """Leave the room (the room closes after its grace period once nobody is left)."""
        self.finish(END_BY_SUBSCRIBER, "closed by the subscriber", drain=False)

    def pending(self) -> list[RelayEvent]:
        """What is queued now, taken without waiting."""
        out = list(self._items)
        self._items.clear()
        self.limit = self.queue_size
        return out

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> RelayEvent:
        while True:
            if self._items:
                if self.limit > self.queue_size:
                    self.limit -= 1
                self.delivered += 1
                return self._items.popleft()
            if self.end is not None:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def next(self, timeout: float | None = None) -> RelayEvent | None:
        """The next event, or None when the subscription ended or `timeout` seconds passed."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except (StopAsyncIteration, TimeoutError):
            return None


class RelayHub:
    """Rooms by username, their subscribers, the limits. `client`: the server's `TikTokClient` (its `rooms` and
    `connect`); `connector`: how a room's socket is opened (`ttsign.relay.upstream.open_socket`; a seam for tests).
    """

    def __init__(
        self,
        settings: Settings,
        client: Any,
        *,
        observer: RelayObserver | None = None,
        connector: Callable[..., Any] | None = None,
        backoff_s: tuple[float, float] = (1.0, 30.0),
        max_reconnects: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from ttsign.relay.upstream import open_socket

        self.settings = settings
        self.client = client
        self.observer: RelayObserver = observer or NoObserver()
        self.connector = connector or open_socket
        self.backoff_s = backoff_s
        self.max_reconnects = max_reconnects
        self.clock = clock
        self.rooms: dict[str, Room] = {}
        self.subs: set[Subscription] = set()
        self.by_owner: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self.closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- the interface -------------------------------------------------------------------------------------

    async def subscribe(
        self,
        unique_id: str,
        *,
        owner: str,
        raw: bool = False,
        streaks: bool = False,
        last_event_id: int | None = None,
    ) -> Subscription:
        from ttsign.relay.room import Room

        if self.closed:
            raise RelayRefused(END_SHUTDOWN, 503, "the server is shutting down; connect again in a moment")
        try:
            uid = normalize_unique_id(unique_id).lower()
        except RoomError as exc:
            raise RelayRefused(BAD_INPUT, 400, str(exc)) from None
        self._same_loop()
        s = self.settings
        if self.by_owner[owner] >= s.relay_subscribers_per_key:
            self.counters["refused_subscribers"] += 1
            raise RelayRefused(
                TOO_MANY,
                429,
                f"too many connections: this caller has {self.by_owner[owner]} subscriptions open, the limit is "
                f"{s.relay_subscribers_per_key} (TTSIGN_RELAY_SUBSCRIBERS_PER_KEY)",
            )
        room = self.rooms.get(uid)
        if room is None or room.done:
            owner_rooms = sum(1 for r in self.rooms.values() if not r.done and r.has_owner(owner))
            if owner_rooms >= s.relay_rooms_per_key:
                self.counters["refused_rooms_per_key"] += 1
                raise RelayRefused(
                    TOO_MANY,
                    429,
                    f"too many rooms: this caller follows {owner_rooms} rooms, the limit is {s.relay_rooms_per_key} "
                    "(TTSIGN_RELAY_ROOMS_PER_KEY)",
                )
            if sum(1 for r in self.rooms.values() if not r.done) >= s.relay_max_rooms:
                self.counters["refused_max_rooms"] += 1
                raise RelayRefused(
                    TOO_MANY,
                    429,
                    f"the relay has {s.relay_max_rooms} rooms open, its limit (TTSIGN_RELAY_MAX_ROOMS); try later",
                    retry_after_s=max(1.0, s.relay_grace_s),
                )
            room = Room(self, uid)
            self.rooms[uid] = room
            self.counters["rooms_opened"] += 1
            self.observer.rooms(self._open_rooms())
            room.start()
        elif not room.has_owner(owner):
            owner_rooms = sum(1 for r in self.rooms.values() if not r.done and r.has_owner(owner))
            if owner_rooms >= s.relay_rooms_per_key:
                self.counters["refused_rooms_per_key"] += 1
                raise RelayRefused(
                    TOO_MANY,
                    429,
                    f"too many rooms: this caller follows {owner_rooms} rooms, the limit is {s.relay_rooms_per_key} "
                    "(TTSIGN_RELAY_ROOMS_PER_KEY)",
                )
        sub = Subscription(self, room, owner, raw=raw, streaks=streaks, queue_size=s.relay_queue)
        self._attach(sub)
        if last_event_id is not None:
            events, missed = room.buffer.after(last_event_id)
            sub.replay(events)
            sub.missed = missed
        try:
            await asyncio.shield(room.ready)
        except RelayRefused:
            sub.finish(END_UPSTREAM, "the room could not be opened", drain=False)
            raise
        except BaseException:
            sub.close()
            raise
        if sub.end is None:
            lifetime = s.relay_max_lifetime_s
            why = f"the subscription reached its max lifetime of {lifetime:g} s (TTSIGN_RELAY_MAX_LIFETIME)"
            sub._lifetime = asyncio.get_running_loop().call_later(lifetime, sub.finish, END_LIFETIME, why, False)
        return sub

    def describe(self) -> dict[str, Any]:
        rooms = [r.describe() for r in self.rooms.values() if not r.done]
        return {
            "rooms": rooms,
            "rooms_open": len(rooms),
            "subscribers": len(self.subs),
            "owners": len([o for o, n in self.by_owner.items() if n > 0]),
            "limits": {
                "max_rooms": self.settings.relay_max_rooms,
                "rooms_per_key": self.settings.relay_rooms_per_key,
                "subscribers_per_key": self.settings.relay_subscribers_per_key,
                "queue": self.settings.relay_queue,
                "buffer": self.settings.relay_buffer,
                "grace_s": self.settings.relay_grace_s,
            },
            "counters": dict(self.counters),
        }

    # ---- companion (the app's lifespan) --------------------------------------------------------------------

    async def start(self) -> None:
        self.closed = False

    async def close(self) -> None:
        """Close every room; their subscribers end with 1001."""
        self.closed = True
        rooms = list(self.rooms.values())
        for room in rooms:
            room.end_all(END_SHUTDOWN, "the server is shutting down")
        await asyncio.gather(*(room.stop() for room in rooms), return_exceptions=True)
        self.rooms.clear()

    # ---- for rooms and subscriptions -----------------------------------------------------------------------

    def _same_loop(self) -> None:
        """Rooms belong to one event loop; a hub used from a new loop (a test client per request) starts afresh."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:
                for room in list(self.rooms.values()):
                    room.abandon()
                self.rooms.clear()
                self.subs.clear()
                self.by_owner.clear()
            self._loop = loop

    def _open_rooms(self) -> int:
        return sum(1 for r in self.rooms.values() if not r.done)

    def _attach(self, sub: Subscription) -> None:
        self.subs.add(sub)
        self.by_owner[sub.owner] += 1
        sub.room.join(sub)
        self.observer.subscribers(len(self.subs))

    def _detach(self, sub: Subscription) -> None:
        if sub not in self.subs:
            return
        self.subs.discard(sub)
        self.by_owner[sub.owner] -= 1
        if self.by_owner[sub.owner] <= 0:
            del self.by_owner[sub.owner]
        sub.room.leave(sub)
        self.observer.subscribers(len(self.subs))

    def _forget(self, room: Room) -> None:
        if self.rooms.get(room.unique_id) is room:
            del self.rooms[room.unique_id]
        self.observer.rooms(self._open_rooms())
