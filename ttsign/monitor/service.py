"""The monitor in the server: `install(services)` builds `services.monitor` (a `MonitorState` keeping
`TTSIGN_MONITOR_HISTORY` cycles) and, when `TTSIGN_MONITOR_INTERVAL` > 0, returns a `MonitorLoop`
companion (started and closed by the app's lifespan) that runs `cycle.run_cycle` every interval, +/- 10 %
jitter (so instances and restarts drift apart), the first cycle a few seconds after start-up.

One process runs the cycles at a time: the loop holds the store's lease `monitor` (`ttsign.store.lease`:
with `TTSIGN_STORE=redis://` one holder among every worker and instance, renewed every `LEASE_TTL_S / 3`
and during a cycle; a holder that dies is replaced within `LEASE_TTL_S`; with the memory store, this
process). `state.running` says whether this process holds it. A cycle that raises is logged and the loop
goes on; closing the loop cancels a cycle in progress and releases the lease.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from ttsign.monitor.cycle import run_cycle
from ttsign.monitor.state import MonitorState
from ttsign.store.lease import Lease, make_lease
from ttsign.tasks import cancel_and_wait

_log = logging.getLogger("ttsign.monitor")

LEASE_NAME = "monitor"
LEASE_TTL_S = 30.0
JITTER = 0.1
FIRST_DELAY_S = 5.0
"""The first cycle comes at most this long after start-up (the providers are started by then)."""


class MonitorLoop:
    """Runs a cycle every `interval_s` (with jitter) while this process holds `lease`."""

    def __init__(
        self,
        services: Any,
        interval_s: float,
        *,
        lease: Lease,
        jitter: float = JITTER,
        first_delay_s: float = FIRST_DELAY_S,
        tick_s: float | None = None,
        rng: random.Random | None = None,
        run: Callable[[Any], Awaitable[Any]] = run_cycle,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("the monitor's interval is a positive number of seconds")
        self.services = services
        self.interval_s = interval_s
        self.lease = lease
        self.jitter = jitter
        self.first_delay_s = min(first_delay_s, interval_s)
        self.tick_s = tick_s if tick_s is not None else min(interval_s, getattr(lease, "ttl_s", LEASE_TTL_S) / 3)
        self.rng = rng or random.Random()
        self.run = run
        self.cycles = 0
        self.errors = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> MonitorState | None:
        state = getattr(self.services, "monitor", None)
        return state if isinstance(state, MonitorState) else None

    def next_delay(self) -> float:
        """The wait before the next cycle: the interval +/- `jitter` of it."""
        return self.interval_s * (1.0 + self.rng.uniform(-self.jitter, self.jitter))

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="ttsign-monitor")

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        try:
            await self.lease.close()
        finally:
            self._set_running(False)

    def _set_running(self, held: bool) -> None:
        state = self.state
        if state is not None:
            state.running = held

    async def _held(self) -> bool:
        try:
            held = await self.lease.acquire()
        except Exception:  # a store failure the store's own fallback did not catch: not held this round
            _log.exception("monitor lease could not be taken")
            held = False
        self._set_running(held)
        return held

    async def _keep(self) -> None:
        """Renew the lease while a cycle runs (a cycle can outlast the lease's TTL)."""
        while True:
            await asyncio.sleep(self.tick_s)
            await self._held()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.first_delay_s * self.rng.uniform(0.5, 1.0)
        while True:
            held = await self._held()
            if held and loop.time() >= due:
                keeper = loop.create_task(self._keep())
                try:
                    await self.run(self.services)
                    self.cycles += 1
                except asyncio.CancelledError:
                    raise
                except Exception:  # the loop outlives any one cycle
                    self.errors += 1
                    _log.exception("monitor cycle failed")
                finally:
                    await cancel_and_wait(keeper)  # it renews the lease in Redis: the cancel may need repeating
                due = loop.time() + self.next_delay()
            wait = self.tick_s if not held else min(self.tick_s, max(0.0, due - loop.time()))
            await asyncio.sleep(wait)


def install(services: Any) -> list[Any]:
    """`services.monitor` (always), and the background loop when `TTSIGN_MONITOR_INTERVAL` > 0."""
    settings = services.settings
    if not isinstance(getattr(services, "monitor", None), MonitorState):
        services.monitor = MonitorState(history=settings.monitor_history)
    if settings.monitor_interval_s <= 0:
        return []
    lease = make_lease(settings, LEASE_NAME, ttl_s=LEASE_TTL_S)
    return [MonitorLoop(services, settings.monitor_interval_s, lease=lease)]
