"""Maintenance mode: one flag, `services.maintenance`, that pauses the signing and connect routes (503 JSON
with the operator's message and `Retry-After`, `ttsign.server.pipeline.maintenance`) while everything else
(health, metrics, the docs, admin) keeps answering.

`MaintenanceFlag.current` is what requests read: memory, never a store call. `await flag.get()` is the same
state, refreshed from the store when it is older than `refresh_s`; `await flag.set(...)` switches it. With
the memory store the flag lives in this process (one worker); with `TTSIGN_STORE=redis://` it is shared by
every instance and worker (`ttsign.store.flags`): a background task reads it every `refresh_s` (1 s), so a
switch made anywhere is in force everywhere within about a second, and while Redis fails every process
keeps the last state it knew (a switch made meanwhile applies here at once and reaches the others when Redis
answers again; the newest switch wins).

An operator's switch is an event on the bus (kind `maintenance`, and a `recovery` of key `maintenance` when
it goes off); an automatic one (`by="automatic"`, `ttsign.monitor.mitigation`) is announced by the
mitigation itself (kind `mitigation`).

`install` builds the flag and the automatic response onto `services` (called by `create_app`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import structlog

from ttsign.monitor.model import Event
from ttsign.server.errors import MIN_MESSAGE
from ttsign.tasks import cancel_and_wait

log = structlog.get_logger("ttsign.monitor")

FLAG = "maintenance"
DEFAULT_MESSAGE = "ttsign is in maintenance mode: signing and connects are paused, try again later"
AUTOMATIC_MESSAGE = "ttsign paused signing and connects: every signing provider is failing, try again later"
DEFAULT_RETRY_AFTER_S = 300
MAX_MESSAGE = 500
Who = Literal["operator", "automatic"]


def usable_message(message: str | None, default: str = DEFAULT_MESSAGE) -> str:
    """The operator's message when it is long enough for every client (19 characters), else `default`."""
    text = " ".join((message or "").split())[:MAX_MESSAGE]
    return text if len(text) >= MIN_MESSAGE else default


@dataclass(frozen=True)
class MaintenanceState:
    enabled: bool = False
    message: str = DEFAULT_MESSAGE
    since: float | None = None  # when it went on (None while off)
    by: Who = "operator"
    reason: str = ""
    retry_after_s: int = DEFAULT_RETRY_AFTER_S
    at: float = 0.0  # when this state was set (the newest wins across instances)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def public(self) -> dict[str, Any]:
        """What `/health` and the admin route show (without the ordering stamp)."""
        out = self.to_dict()
        del out["at"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MaintenanceState:
        by = data.get("by")
        since = data.get("since")
        return cls(
            enabled=bool(data.get("enabled")),
            message=usable_message(str(data.get("message") or "")),
            since=float(since) if isinstance(since, int | float) else None,
            by=by if by in ("operator", "automatic") else "operator",
            reason=str(data.get("reason") or "")[:MAX_MESSAGE],
            retry_after_s=max(1, int(data.get("retry_after_s") or DEFAULT_RETRY_AFTER_S)),
            at=float(data.get("at") or 0.0),
        )


Emit = Callable[[Event], Awaitable[None]]


class MaintenanceFlag:
    """The maintenance flag of one process; a companion (`start`, `close`) when shared through a store."""

    def __init__(
        self,
        shared: Any = None,
        *,
        emit: Emit | None = None,
        refresh_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.shared = shared  # ttsign.store.flags.SharedFlags, or None (this process only)
        self.emit = emit
        self.refresh_s = refresh_s
        self.clock = clock
        self._state = MaintenanceState()
        self._read_at = float("-inf")  # monotonic time of the last store read
        self._pending: MaintenanceState | None = None  # a switch the store has not taken yet (it failed)
        self._task: asyncio.Task[None] | None = None

    @property
    def current(self) -> MaintenanceState:
        """The state as this process knows it (what the request path reads: no I/O)."""
        return self._state

    @property
    def enabled(self) -> bool:
        return self._state.enabled

    # -- reading and switching ----------------------------------------------------------------------
    async def get(self) -> MaintenanceState:
        """The state, refreshed from the shared store when the last read is older than `refresh_s`."""
        if self.shared is not None and time.monotonic() - self._read_at >= self.refresh_s:
            await self.sync()
        return self._state

    async def set(
        self,
        enabled: bool,
        message: str | None = None,
        *,
        by: Who = "operator",
        reason: str = "",
        retry_after_s: int | None = None,
    ) -> MaintenanceState:
        """Switch maintenance on or off (the same state again is a no-op, not an event)."""
        before = self._state
        now = self.clock()
        state = MaintenanceState(
            enabled=enabled,
            message=usable_message(message, AUTOMATIC_MESSAGE if by == "automatic" else DEFAULT_MESSAGE),
            since=(before.since if before.enabled and before.since else now) if enabled else None,
            by=by,
            reason=reason[:MAX_MESSAGE],
            retry_after_s=max(1, int(retry_after_s or DEFAULT_RETRY_AFTER_S)),
            at=max(now, before.at + 1e-6),
        )
        self._state = state
        if self.shared is not None:
            self._pending = state
            await self.sync()
        log.warning(
            "maintenance_on" if enabled else "maintenance_off", by=by, reason=state.reason, message=state.message
        )
        changed = enabled != before.enabled or (enabled and state.message != before.message)
        if by == "operator" and self.emit is not None and changed:
            await self.emit(self._event(state))
        return state

    @staticmethod
    def _event(state: MaintenanceState) -> Event:
        if state.enabled:
            return Event(
                "maintenance",
                FLAG,
                "high",
                f"maintenance mode on: {state.message}",
                {"message": state.message, "by": state.by, "retry_after_s": state.retry_after_s},
                fingerprint=f"{state.since}",
            )
        return Event("recovery", FLAG, "info", "maintenance mode off: signing and connects answer again", {})

    # -- the shared store ---------------------------------------------------------------------------
    async def sync(self) -> None:
        """One round with the store: publish a pending switch, then take the stored state when it is newer."""
        from ttsign.store.flags import LOCAL

        shared = self.shared
        if shared is None:
            return
        pending = self._pending
        if pending is not None:
            if await shared.write(FLAG, pending.to_dict()) is LOCAL:
                return  # kept: published when the store answers again
            if self._pending is pending:
                self._pending = None
        stored = await shared.read(FLAG)
        if stored is LOCAL:
            return  # the last known state stands
        self._read_at = time.monotonic()
        if isinstance(stored, dict):
            try:
                state = MaintenanceState.from_dict(stored)
            except (TypeError, ValueError):
                return
            if state.at > self._state.at and self._pending is None:
                if state.enabled != self._state.enabled:
                    log.warning("maintenance_seen", enabled=state.enabled, by=state.by, message=state.message)
                self._state = state

    async def start(self) -> None:
        if self.shared is not None and self._task is None:
            await self.sync()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ttsign-maintenance-flag")

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self.shared is not None:
            await self.shared.aclose()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.sync()
            except Exception:  # never let the mirror die: the last known state stands meanwhile
                log.exception("maintenance_sync_failed")

    def describe(self) -> dict[str, Any]:
        """`/health`'s `maintenance` object: the state, and where it is kept."""
        store = "local" if self.shared is None else ("shared" if not self.shared.degraded else "last_known")
        return {**self._state.public(), "store": store}


def make_flag(settings: Any, emit: Emit | None = None) -> MaintenanceFlag:
    """The flag for these settings: shared through Redis when `TTSIGN_STORE` is a Redis URL."""
    from ttsign.store.redis import is_redis_url

    if not is_redis_url(settings.store):
        return MaintenanceFlag(emit=emit)
    from ttsign.store.breakers import breaker_store_events
    from ttsign.store.factory import open_redis
    from ttsign.store.flags import SharedFlags

    return MaintenanceFlag(SharedFlags(open_redis(settings, events=breaker_store_events())), emit=emit)


def install(services: Any) -> list[Any]:
    """Build the maintenance flag and the automatic response onto `services` (ttsign.server.deps.Services);
    return their companions (the flag's store mirror, the mitigation's outage watch)."""
    from ttsign.monitor.mitigation import Mitigation

    bus = services.events
    flag = make_flag(services.settings, emit=bus.emit if bus is not None else None)
    services.maintenance = flag
    mitigation = Mitigation.install(services, shared=flag.shared)  # the demotions shared like the flag
    services.mitigation = mitigation  # what it has done (the simulation's timeline, the status page)
    return [flag, mitigation]
