"""A room's recent events, bounded (`TTSIGN_RELAY_BUFFER`), for `Last-Event-ID` resume (pure, no I/O)."""

from __future__ import annotations

from collections import deque

from ttsign.relay.events import RelayEvent


class EventBuffer:
    """The last `size` events of a room, oldest first; ids increase by one."""

    def __init__(self, size: int) -> None:
        self.events: deque[RelayEvent] = deque(maxlen=size)

    def add(self, event: RelayEvent) -> None:
        self.events.append(event)

    @property
    def last_id(self) -> int:
        return self.events[-1].id if self.events else 0

    def after(self, last_id: int) -> tuple[list[RelayEvent], int]:
        """The kept events after `last_id`, and how many after it are no longer kept (0: none missed).

        An id this room never gave (larger than its last one: a previous opening of the room) resumes from now.
        """
        if not self.events or last_id >= self.last_id:
            return [], 0
        first = self.events[0].id
        if last_id < first - 1:
            return list(self.events), first - 1 - last_id
        skip = last_id - first + 1
        return [e for i, e in enumerate(self.events) if i >= skip], 0

    def __len__(self) -> int:
        return len(self.events)
