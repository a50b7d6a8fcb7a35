"""The cycle: every check runs (a raising or hanging one is `fail`, the others still run), the result is
recorded, a condition is emitted once when it opens or changes and a `recovery` when its check clears it,
and a check that could not tell leaves conditions open."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from ttsign.monitor import cycle
from ttsign.monitor.bus import EventBus
from ttsign.monitor.model import CheckResult, Event
from ttsign.monitor.state import MonitorState


class Script:
    """A check whose next results are scripted."""

    def __init__(self, name: str, *results: CheckResult) -> None:
        self.name = name
        self.results = list(results)

    async def __call__(self, services: Any) -> CheckResult:
        return self.results.pop(0)


def drift(fp: str = "a") -> Event:
    return Event("drift", "agreement", "critical", f"disagree {fp}", {"fields": [fp]}, fingerprint=fp)


def services() -> Any:
    bus = EventBus()
    seen: list[Event] = []

    async def sink(e: Event) -> None:
        seen.append(e)

    bus.subscribe(sink)
    return SimpleNamespace(events=bus, monitor=MonitorState(history=5), settings=None, seen=seen)


async def test_open_once_change_then_recover() -> None:
    s = services()
    check = Script(
        "agreement",
        CheckResult("agreement", "drift", events=[drift("a")]),
        CheckResult("agreement", "drift", events=[drift("a")]),  # the same condition: no second emission
        CheckResult("agreement", "drift", events=[drift("b")]),  # changed: emitted again
        CheckResult("agreement", "fail", {"error": "browser down"}),  # could not tell: stays open
        CheckResult("agreement", "ok"),
    )
    kinds = []
    for _ in range(5):
        before = len(s.seen)
        result = await cycle.run_cycle(s, checks=[("agreement", check)])
        kinds.append([(e.kind, e.fingerprint) for e in s.seen[before:]])
        assert s.monitor.last is result
    assert kinds == [[("drift", "a")], [], [("drift", "b")], [], [("recovery", "b")]]
    assert s.monitor.active == {}
    assert s.monitor.last_drift is not None and s.monitor.last_drift.fingerprint == "b"
    assert s.seen[0].detail["check"] == "agreement"
    assert [c.outcome for c in s.monitor.cycles] == ["drift", "drift", "drift", "fail", "ok"]


async def test_only_the_owning_check_clears_a_condition() -> None:
    s = services()
    a = Script("agreement", CheckResult("agreement", "drift", events=[drift()]), CheckResult("agreement", "skipped"))
    probe = Script("live_probe", CheckResult("live_probe", "ok"), CheckResult("live_probe", "ok"))
    await cycle.run_cycle(s, checks=[("agreement", a), ("live_probe", probe)])
    await cycle.run_cycle(s, checks=[("agreement", a), ("live_probe", probe)])
    assert list(s.monitor.active) == ["agreement"]  # skipped agreement, ok probe: still open
    assert [e.kind for e in s.seen] == ["drift"]


async def test_a_raising_or_hanging_check_is_a_failure_and_the_rest_run() -> None:
    s = services()

    async def boom(_s: Any) -> CheckResult:
        raise RuntimeError("decoder bug")

    async def hang(_s: Any) -> CheckResult:
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    ok = Script("live_probe", CheckResult("live_probe", "ok"))
    result = await cycle.run_cycle(
        s, timeout_s=0.2, checks=[("agreement", boom), ("sdk_build", hang), ("live_probe", ok)]
    )
    by = {c.name: c for c in result.checks}
    assert by["agreement"].outcome == "fail" and "RuntimeError: decoder bug" in by["agreement"].evidence["error"]
    assert by["sdk_build"].outcome == "fail" and "within 0.2 s" in by["sdk_build"].evidence["error"]
    assert by["live_probe"].outcome == "ok"
    assert 0.2 <= by["sdk_build"].duration_s < 1.0
    assert result.outcome == "fail"


async def test_missing_check_modules_are_skipped() -> None:
    s = services()
    result = await cycle.run_cycle(s, checks=[("sdk_build", "ttsign.monitor.no_such_module")])
    assert result.checks[0].outcome == "skipped" and "not installed" in result.checks[0].evidence["reason"]


async def test_the_state_is_made_when_absent() -> None:
    s = SimpleNamespace(events=None, monitor=None, settings=SimpleNamespace(monitor_history=3))
    for _ in range(4):
        await cycle.run_cycle(s, checks=[("x", Script("x", CheckResult("x", "ok")).__call__)])
    assert isinstance(s.monitor, MonitorState) and len(s.monitor.cycles) == 3
