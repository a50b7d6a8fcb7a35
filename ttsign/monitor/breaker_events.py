"""The provider chain's breakers as events on the bus: `breaker_open`, `provider_outage` and their `recovery`.

The chain reports through one `ChainEvents` object (`ttsign.providers.base`; the server's is
`ttsign.server.provider_metrics.ProviderMetrics`). `attach(chain, bus)` replaces it with a `FanOut` to the
metrics it had and a `BreakerEvents`, which turns what it hears into events:

* a provider's breaker opening (closed -> open) is `breaker_open` (key `breaker:<name>`); the re-opens of
  its failed probes are the same condition, not new events; its closing is the `recovery` of that key;
* every provider down at once is `provider_outage` (key `providers:all`, severity high). A provider is
  down while its breaker is open or half-open, or after `down_after` consecutive failed calls (so an outage
  is seen even when traffic is too thin to open a breaker); the first signed call or closed breaker
  afterwards is its `recovery`.

`ChainEvents` methods are synchronous and on the signing path: each one here updates a few dicts and, on
a transition only, schedules `bus.emit` as a task on the running loop. Nothing here raises into the chain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ttsign.monitor.model import Event

_log = logging.getLogger("ttsign.monitor")

OUTAGE_KEY = "providers:all"
DOWN_AFTER = 3
"""Consecutive failed calls after which a provider counts as down for the outage (its breaker may not be
open yet)."""


def breaker_key(provider: str) -> str:
    return f"breaker:{provider}"


class FanOut:
    """`ChainEvents` handing every report to each listener in turn; one that raises does not stop the rest."""

    def __init__(self, *listeners: Any) -> None:
        self.listeners = list(listeners)

    def _each(self, method: str, *args: Any) -> None:
        for listener in self.listeners:
            try:
                getattr(listener, method)(*args)
            except Exception:  # ChainEvents must never raise into the chain
                continue

    def call(self, provider: str, outcome: str, kind: str, seconds: float) -> None:
        self._each("call", provider, outcome, kind, seconds)

    def breaker(self, provider: str, state: str) -> None:
        self._each("breaker", provider, state)

    def shadow(self, provider: str, other: str, outcome: str, fields: tuple[str, ...]) -> None:
        self._each("shadow", provider, other, outcome, fields)

    def cache(self, outcome: str) -> None:
        self._each("cache", outcome)


class BreakerEvents:
    """`ChainEvents` that emits breaker and outage events on `bus` (an `EventBus`, or anything with an
    `async emit(event)`). `snapshot(name)` gives a provider's breaker facts for the evidence."""

    def __init__(
        self,
        bus: Any,
        providers: Iterable[str],
        *,
        snapshot: Callable[[str], dict[str, Any]] | None = None,
        down_after: int = DOWN_AFTER,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.bus = bus
        self.providers = list(providers)
        self.snapshot = snapshot
        self.down_after = max(1, down_after)
        self.wall = wall
        self.breakers: dict[str, str] = {name: "closed" for name in self.providers}
        self.failing: dict[str, int] = {name: 0 for name in self.providers}
        self.open: set[str] = set()
        """Providers whose `breaker_open` was emitted and not yet recovered."""
        self.outage = False
        self.emitted = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # -- ChainEvents ------------------------------------------------------------------------------
    def call(self, provider: str, outcome: str, kind: str, seconds: float) -> None:
        if provider not in self.failing:
            return
        if outcome == "ok":
            self.failing[provider] = 0
            if self.outage:
                self._outage_over(provider, "signed a call")
            return
        self.failing[provider] += 1
        if not self.outage and self._all_down():
            self._outage_begins()

    def breaker(self, provider: str, state: str) -> None:
        if provider not in self.breakers:
            return
        self.breakers[provider] = state
        if state == "open" and provider not in self.open:
            self.open.add(provider)
            self._emit(self._breaker_open(provider))
        elif state == "closed":
            self.failing[provider] = 0
            if provider in self.open:
                self.open.discard(provider)
                self._emit(
                    Event(
                        kind="recovery",
                        key=breaker_key(provider),
                        severity="info",
                        title=f"provider {provider}: breaker closed, it signs again",
                        detail={"provider": provider, **self._facts(provider)},
                        at=self.wall(),
                    )
                )
            if self.outage:
                self._outage_over(provider, "breaker closed")
        if not self.outage and self._all_down():
            self._outage_begins()

    def shadow(self, provider: str, other: str, outcome: str, fields: tuple[str, ...]) -> None:
        return None

    def cache(self, outcome: str) -> None:
        return None

    # -- the conditions ---------------------------------------------------------------------------
    def _down(self, provider: str) -> bool:
        return self.breakers[provider] != "closed" or self.failing[provider] >= self.down_after

    def _all_down(self) -> bool:
        return bool(self.providers) and all(self._down(p) for p in self.providers)

    def _facts(self, provider: str) -> dict[str, Any]:
        if self.snapshot is None:
            return {}
        try:
            snap = self.snapshot(provider)
        except Exception:
            return {}
        facts: dict[str, Any] = {
            k: snap[k] for k in ("state", "failures_by_kind", "cooldown_s", "opens", "threshold") if k in snap
        }
        last = snap.get("last_error")
        if isinstance(last, dict):
            facts["last_error"] = f"{last.get('kind', '')}: {last.get('message', '')}"
        return facts

    def _breaker_open(self, provider: str) -> Event:
        facts = self._facts(provider)
        return Event(
            kind="breaker_open",
            key=breaker_key(provider),
            severity="medium",
            title=f"provider {provider}: breaker opened after repeated failures; calls skip it",
            detail={"provider": provider, **facts},
            at=self.wall(),
            fingerprint="open",
        )

    def _outage_begins(self) -> None:
        self.outage = True
        detail: dict[str, Any] = {"providers": list(self.providers)}
        for name in self.providers:
            facts = self._facts(name)
            state = self.breakers[name]
            why = f"breaker {state}" if state != "closed" else f"{self.failing[name]} failed calls in a row"
            if facts.get("last_error"):
                why += f" (last: {facts['last_error']})"
            detail[name] = why
        self._emit(
            Event(
                kind="provider_outage",
                key=OUTAGE_KEY,
                severity="high",
                title="every signing provider is failing: signing calls get 503 (or a cached answer)",
                detail=detail,
                at=self.wall(),
                fingerprint="outage",
            )
        )

    def _outage_over(self, provider: str, how: str) -> None:
        self.outage = False
        self._emit(
            Event(
                kind="recovery",
                key=OUTAGE_KEY,
                severity="info",
                title=f"signing works again: provider {provider} {how}",
                detail={"provider": provider},
                at=self.wall(),
            )
        )

    def _emit(self, event: Event) -> None:
        self.emitted += 1
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the chain runs on a loop; outside one (a sync test) the event is only logged
            _log.warning("event %s (%s) outside an event loop: not emitted", event.kind, event.key)
            return
        task = loop.create_task(self.bus.emit(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the emits scheduled so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def attach(chain: Any, bus: Any, *, down_after: int = DOWN_AFTER) -> BreakerEvents:
    """Make `chain` (a `ProviderChain`) report to `bus` as well as to the events it had; returns the adapter.
    Idempotent: a chain already attached keeps its adapter."""
    current = chain.events
    if isinstance(current, FanOut):
        for listener in current.listeners:
            if isinstance(listener, BreakerEvents):
                return listener
    breakers = getattr(chain, "breakers", {})

    def snapshot(name: str) -> dict[str, Any]:
        breaker = breakers.get(name)
        return dict(breaker.snapshot()) if breaker is not None else {}

    names = [getattr(p, "name", str(p)) for p in getattr(chain, "providers", [])]
    adapter = BreakerEvents(bus, names, snapshot=snapshot, down_after=down_after)
    chain.events = FanOut(current, adapter)
    return adapter
