"""One canary cycle: run every check, record the result, open and clear conditions, emit their events.

`run_cycle(services)` is the one way in (the server's background task, `ttsign monitor`, `--simulate` and the
status page use it). The checks, in order:

1. `agreement` (`ttsign.monitor.agreement`): native against TikTok's SDK in the browser provider;
2. `sdk_build` (`ttsign.monitor.sdk_watch.check`) and 3. `player` (`ttsign.monitor.player_watch.check`), when
   those modules are installed (else `skipped`);
4. `live_probe` (`ttsign.monitor.probes`): opt-in with `TTSIGN_MONITOR_LIVE_USER`.

Each check runs under a deadline (`CHECK_TIMEOUT_S`); one that raises or overruns is `fail` with the error as
evidence, and never stops the others. The cycle is recorded in `services.monitor` (a `MonitorState`, made
if absent). Conditions: each event a check returns opens (or renews) the condition of its `key` in
`state.active`; it is emitted on `services.events` when the key is new or its `fingerprint` changed (one
emission per condition, not one per cycle). A condition clears when the check that opened it ran and could
tell (its outcome is not `skipped` and its evidence holds no `error`) without returning that key again,
and the key is not among the ones its evidence lists as `untested` (a live probe that stopped early): a
`recovery` event with the same key is emitted and the condition leaves `state.active`. Every event
emitted carries the check's name in `detail["check"]`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ttsign.monitor.model import CheckResult, CycleResult, Event
from ttsign.monitor.state import MonitorState

_log = logging.getLogger("ttsign.monitor")

CHECK_TIMEOUT_S = 60.0
"""The most one check may take (a browser sign, a socket probe); then it is `fail` (timeout)."""

CheckFn = Callable[[Any], Awaitable[CheckResult]]

CHECKS: tuple[tuple[str, str], ...] = (
    ("agreement", "ttsign.monitor.agreement"),
    ("sdk_build", "ttsign.monitor.sdk_watch"),
    ("player", "ttsign.monitor.player_watch"),
    ("live_probe", "ttsign.monitor.probes"),
)
"""(check name, module with `async def check(services) -> CheckResult`), in the order they run."""


def _load(module: str) -> CheckFn | None:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:  # not installed yet (or not in this build): the check is skipped
            return None
        raise
    fn: CheckFn | None = getattr(mod, "check", None)
    return fn


def state_of(services: Any) -> MonitorState:
    """`services.monitor`, made (with the configured history) when the app did not install it."""
    state = getattr(services, "monitor", None)
    if not isinstance(state, MonitorState):
        settings = getattr(services, "settings", None)
        state = MonitorState(history=getattr(settings, "monitor_history", 96))
        services.monitor = state
    return state


async def _run_check(name: str, module: str | CheckFn, services: Any, timeout_s: float) -> CheckResult:
    started = time.perf_counter()
    try:
        fn = _load(module) if isinstance(module, str) else module
        if fn is None:
            result = CheckResult(name, "skipped", {"reason": f"{module} is not installed"})
        else:
            async with asyncio.timeout(timeout_s):
                result = await fn(services)
    except TimeoutError:
        result = CheckResult(name, "fail", {"error": f"the {name} check did not finish within {timeout_s:g} s"})
    except Exception as exc:  # a check's bug is that check's failure, never the cycle's
        _log.exception("monitor check %s raised", name)
        result = CheckResult(name, "fail", {"error": f"the {name} check raised {type(exc).__name__}: {exc}"[:500]})
    result.name = result.name or name
    result.duration_s = time.perf_counter() - started
    return result


def _could_tell(result: CheckResult) -> bool:
    return result.outcome != "skipped" and "error" not in result.evidence


def _tagged(event: Event, check: str) -> Event:
    if event.detail.get("check") == check:
        return event
    return dataclasses.replace(event, detail={**event.detail, "check": check})


async def reconcile(state: MonitorState, bus: Any, results: list[CheckResult]) -> list[Event]:
    """Open, renew and clear conditions from one cycle's results; emit what is new; return what was emitted."""
    emitted: list[Event] = []
    for result in results:
        seen: set[str] = set()
        for raw in result.events:
            event = _tagged(raw, result.name)
            seen.add(event.key)
            if event.kind == "recovery":  # a check may say itself that something cleared
                if state.active.pop(event.key, None) is not None:
                    emitted.append(event)
                continue
            open_ = state.active.get(event.key)
            if open_ is not None and open_.fingerprint == event.fingerprint and open_.kind == event.kind:
                continue  # the same condition, still there: no new emission
            state.active[event.key] = event
            if event.kind == "drift":
                state.last_drift = event
            emitted.append(event)
        if not _could_tell(result):
            continue
        untested = set(result.evidence.get("untested") or ())
        for key, open_ in list(state.active.items()):
            if open_.detail.get("check") == result.name and key not in seen and key not in untested:
                del state.active[key]
                emitted.append(
                    Event(
                        kind="recovery",
                        key=key,
                        severity="info",
                        title=f"cleared: {open_.title}"[:300],
                        detail={"check": result.name, "cleared": open_.kind, "opened_at": open_.at},
                        fingerprint=open_.fingerprint,
                    )
                )
    if bus is not None:
        for event in emitted:
            await bus.emit(event)
    return emitted


async def run_cycle(
    services: Any,
    *,
    timeout_s: float = CHECK_TIMEOUT_S,
    checks: Sequence[tuple[str, str | CheckFn]] | None = None,
) -> CycleResult:
    """Run every check once (module docstring); the result is recorded in `services.monitor` and its events
    emitted on `services.events` before this returns. `checks` replaces `CHECKS` (tests, drills): each a
    check name and a module path or a `check(services)` coroutine function."""
    state = state_of(services)
    started = time.time()
    t0 = time.perf_counter()
    chosen = CHECKS if checks is None else checks
    results = [await _run_check(name, module, services, timeout_s) for name, module in chosen]
    cycle = CycleResult(started=started, duration_s=time.perf_counter() - t0, checks=results)
    state.record(cycle)
    await reconcile(state, getattr(services, "events", None), results)
    return cycle
