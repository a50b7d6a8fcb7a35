"""The event bus: every `Event` (monitor checks, breakers, maintenance, mitigation) goes through one
`EventBus`, which keeps the last few for the status page and hands each to its subscribers (the alerter,
the automatic response, the simulate timeline). A subscriber that raises is logged, never stops the others."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import structlog

from ttsign.monitor.model import Event

log = structlog.get_logger("ttsign.monitor")

Subscriber = Callable[[Event], Awaitable[None]]


class EventBus:
    def __init__(self, keep: int = 100) -> None:
        self.recent: deque[Event] = deque(maxlen=keep)
        self._subscribers: list[Subscriber] = []

    def subscribe(self, fn: Subscriber) -> None:
        self._subscribers.append(fn)

    async def emit(self, event: Event) -> None:
        self.recent.append(event)
        log.info("event", kind=event.kind, key=event.key, severity=event.severity, title=event.title)
        for fn in list(self._subscribers):
            try:
                await fn(event)
            except Exception as exc:  # one failing sink must not lose the event for the others
                log.warning("event_subscriber_failed", subscriber=getattr(fn, "__qualname__", repr(fn)), error=str(exc))
