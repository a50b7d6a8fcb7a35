"""The automatic response (`TTSIGN_MONITOR_MITIGATE`, on by default), subscribed to the event bus:

* a `drift` (native and TikTok's SDK in the browser disagree) demotes the native provider behind the browser
  provider (`ProviderChain.demote`), so callers get the SDK's tokens while ours are wrong; when every drift
  it saw has its `recovery`, native goes back to its place (`ProviderChain.restore`). Without a browser
  provider in the chain there is nothing to demote native behind: the drift is still alerted, and the
  mitigation says so (an event, `applied: false`).
* a `provider_outage` (every provider fails) turns maintenance mode on (`TTSIGN_MONITOR_OUTAGE_MAINTENANCE`,
  on by default), by `automatic`; its `recovery` turns it off again, unless an operator switched maintenance
  meanwhile (an operator's switch is never undone by the automatic response).

With `TTSIGN_STORE=redis://` the demotion is shared (`SharedOrder`): only the monitor lease's holder sees the
drift, and every other worker and instance follows its chain order within about a second; the maintenance
flag is shared by itself (`ttsign.monitor.maintenance`).

Every action and every reversal is an event on the bus (kind `mitigation`, reversed: `recovery` of the same
key), so it is alerted and shown on the timeline.

`provider_outage` and its `recovery` come from the chain's breakers (`ttsign.monitor.breaker_events`, key
`providers:all`). While the maintenance it turned on lasts, `OutageProbe` (a companion) sends one self-test
signing call through the chain every second, so the breakers' probes run even though maintenance keeps
callers away (without them, a maintenance turned on by an outage would never end).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import structlog

from ttsign.monitor.model import Event
from ttsign.tasks import cancel_and_wait

log = structlog.get_logger("ttsign.monitor")

DEMOTED = "native"
ORACLE = "browser"
DEMOTE_KEY = "mitigation:demote:native"
MAINTENANCE_KEY = "mitigation:maintenance"
PROBE_URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30&cursor=0&secUid=MS4wLjABAAAAttsignOutage"


class Mitigation:
    """What the automatic response has done, and the handler that does it (`on_event`)."""

    def __init__(
        self, services: Any, *, enabled: bool = True, outage_maintenance: bool = True, shared: Any = None
    ) -> None:
        self.services = services
        self.enabled = enabled
        self.outage_maintenance = outage_maintenance
        self.drifts: dict[str, Event] = {}  # drift keys without their recovery yet
        self.outages: set[str] = set()
        self.demoted = False
        self.maintenance_on = False  # maintenance switched on by this mitigation, not yet undone
        self.probe = OutageProbe(services, lambda: self.maintenance_on)
        self.order = SharedOrder(services.providers, shared) if shared is not None else None

    @classmethod
    def install(cls, services: Any, shared: Any = None) -> Mitigation:
        """`shared`: the store's flags (`ttsign.store.flags.SharedFlags`) when TTSIGN_STORE is Redis."""
        s = services.settings
        self = cls(services, enabled=s.monitor_mitigate, outage_maintenance=s.monitor_outage_maintenance, shared=shared)
        if services.events is not None:
            services.events.subscribe(self.on_event)
        return self

    # -- companion: the outage probe ----------------------------------------------------------------
    async def start(self) -> None:
        if self.order is not None:
            await self.order.start()
        await self.probe.start()

    async def close(self) -> None:
        await self.probe.close()
        if self.order is not None:
            await self.order.close()

    # -- the response -------------------------------------------------------------------------------
    async def on_event(self, event: Event) -> None:
        if not self.enabled or event.kind in ("mitigation", "maintenance"):
            return
        if event.kind == "drift":
            self.drifts[event.key] = event
            await self._demote(event)
        elif event.kind == "provider_outage":
            self.outages.add(event.key)
            await self._maintenance_on(event)
        elif event.kind == "recovery":
            if self.drifts.pop(event.key, None) is not None and not self.drifts:
                await self._restore(event)
            if event.key in self.outages:
                self.outages.discard(event.key)
                if not self.outages:
                    await self._maintenance_off(event)

    async def _emit(self, event: Event) -> None:
        if self.services.events is not None:
            await self.services.events.emit(event)

    async def _demote(self, cause: Event) -> None:
        chain = self.services.providers
        if self.demoted:
            return
        order = chain.order()
        if DEMOTED not in order or ORACLE not in order:
            await self._emit(
                Event(
                    "mitigation",
                    DEMOTE_KEY,
                    "info",
                    f"drift: native not demoted (no {ORACLE} provider in TTSIGN_PROVIDERS to sign instead)",
                    {"action": "demote", "applied": False, "provider": DEMOTED, "order": order, "cause": cause.key},
                    fingerprint="not-applied",
                )
            )
            return
        chain.demote(DEMOTED, behind=ORACLE)
        self.demoted = True
        if self.order is not None:
            await self.order.publish()
        log.warning("mitigation_demote", provider=DEMOTED, behind=ORACLE, cause=cause.key, order=chain.order())
        await self._emit(
            Event(
                "mitigation",
                DEMOTE_KEY,
                "info",
                f"native demoted behind {ORACLE} until the drift clears",
                {"action": "demote", "applied": True, "provider": DEMOTED, "order": chain.order(), "cause": cause.key},
                fingerprint="demoted",
            )
        )

    async def _restore(self, cause: Event) -> None:
        if not self.demoted:
            return
        chain = self.services.providers
        chain.restore(DEMOTED)
        self.demoted = False
        if self.order is not None:
            await self.order.publish()
        log.warning("mitigation_restore", provider=DEMOTED, cause=cause.key, order=chain.order())
        await self._emit(
            Event(
                "recovery",
                DEMOTE_KEY,
                "info",
                "native restored to its place: the drift cleared",
                {"action": "restore", "provider": DEMOTED, "order": chain.order(), "cause": cause.key},
            )
        )

    async def _maintenance_on(self, cause: Event) -> None:
        flag = self.services.maintenance
        if not self.outage_maintenance or flag is None or self.maintenance_on:
            return
        if flag.current.enabled:
            return  # an operator's maintenance already holds callers back
        state = await flag.set(True, by="automatic", reason=cause.title)
        self.maintenance_on = True
        await self._emit(
            Event(
                "mitigation",
                MAINTENANCE_KEY,
                "high",
                "maintenance mode on: every signing provider fails",
                {"action": "maintenance_on", "message": state.message, "cause": cause.key},
                fingerprint=str(state.since),
            )
        )

    async def _maintenance_off(self, cause: Event) -> None:
        flag = self.services.maintenance
        if not self.maintenance_on or flag is None:
            return
        self.maintenance_on = False
        current = await flag.get()
        if not (current.enabled and current.by == "automatic"):
            return  # an operator switched it since: theirs stands
        await flag.set(False, by="automatic", reason=cause.title)
        await self._emit(
            Event(
                "recovery",
                MAINTENANCE_KEY,
                "info",
                "maintenance mode off: a signing provider answers again",
                {"action": "maintenance_off", "cause": cause.key},
            )
        )

    def describe(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "outage_maintenance": self.outage_maintenance,
            "native_demoted": self.demoted,
            "maintenance_on": self.maintenance_on,
            "drifts": sorted(self.drifts),
            "outages": sorted(self.outages),
        }


class SharedOrder:
    """The chain's demotions shared through the store (`TTSIGN_STORE=redis://`), so every worker and instance
    demotes native, not only the process whose monitor saw the drift (the monitor lease's holder): one flag,
    `provider_order`, `{"demoted": {name: behind}, "at": ...}`, written on each demote/restore and read every
    `refresh_s` by each process into its own chain (memory; the signing path never waits on it). While the
    store fails each process keeps the order it has; the newest write wins."""

    FLAG = "provider_order"

    def __init__(self, chain: Any, shared: Any, *, refresh_s: float = 1.0) -> None:
        self.chain = chain
        self.shared = shared
        self.refresh_s = refresh_s
        self.at = 0.0
        self._pending: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None

    async def publish(self) -> None:
        self.at = max(time.time(), self.at + 1e-6)
        self._pending = {"demoted": dict(self.chain.demoted), "at": self.at}
        await self.sync()

    async def sync(self) -> None:
        from ttsign.store.flags import LOCAL

        pending = self._pending
        if pending is not None:
            if await self.shared.write(self.FLAG, pending) is LOCAL:
                return
            if self._pending is pending:
                self._pending = None
        stored = await self.shared.read(self.FLAG)
        if not isinstance(stored, dict) or self._pending is not None:
            return
        try:
            at, demoted = float(stored.get("at") or 0.0), dict(stored.get("demoted") or {})
        except (TypeError, ValueError):
            return
        if at > self.at:
            self.at = at
            self.apply(demoted)

    def apply(self, demoted: dict[str, Any]) -> None:
        """Make this process's chain demote exactly `demoted` (names it does not have are ignored)."""
        names = self.chain.order()
        for name in list(self.chain.demoted):
            if name not in demoted:
                self.chain.restore(name)
        for name, behind in demoted.items():
            if name in names and (behind is None or behind in names) and self.chain.demoted.get(name, 0) != behind:
                self.chain.demote(name, behind)
        log.info("provider_order_seen", order=self.chain.order())

    async def start(self) -> None:
        if self._task is None:
            with contextlib.suppress(Exception):
                await self.sync()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ttsign-provider-order")

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.sync()
            except Exception:  # never let the mirror die
                log.exception("provider_order_sync_failed")


class OutageProbe:
    """While the automatic response holds maintenance on, one self-test signing call through the chain every
    `interval_s`: the breakers let it through when their probe is due, and the first signed call is the
    outage's `recovery` (`ttsign.monitor.breaker_events`). Calls skipped by an open breaker cost nothing."""

    def __init__(self, services: Any, active: Any, *, interval_s: float = 1.0) -> None:
        self.services = services
        self.active = active  # () -> bool: whether to probe now
        self.interval_s = interval_s
        self.probes = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ttsign-outage-probe")

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if self.active():
                await self.probe()

    async def probe(self) -> bool:
        """One signing call through the chain; True when it signed."""
        from ttsign.providers.base import SignJob
        from ttsign.signing.policy import parse_url

        self.probes += 1
        try:  # a failing probe is the outage going on: the breakers record it
            async with asyncio.timeout(10.0):
                await self.services.providers.sign(SignJob(PROBE_URL, parse_url(PROBE_URL)))
        except Exception:
            return False
        return True
