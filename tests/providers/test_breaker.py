"""The circuit breaker, on an injected clock: K failures in the window open it, the cooldown doubles on each
re-open up to the cap, half-open lets exactly one probe through."""

from __future__ import annotations

import pytest

from ttsign.providers.breaker import Breaker, BreakerPolicy


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(clock: Clock, **kw: float) -> tuple[Breaker, list[str]]:
    changes: list[str] = []
    policy = BreakerPolicy(**{"failures": 3, "window_s": 10.0, "cooldown_s": 30.0, "max_cooldown_s": 600.0, **kw})  # type: ignore[arg-type]
    return Breaker(policy, clock=clock, wall=lambda: 1.7e9 + clock.t, on_change=changes.append), changes


def test_opens_after_k_failures_in_the_window_not_k_minus_one(clock: Clock) -> None:
    breaker, changes = make(clock)
    breaker.failure("error", "boom")
    breaker.failure("timeout", "slow")
    assert breaker.state == "closed" and breaker.allow()
    breaker.failure("error", "boom")
    assert breaker.state == "open" and changes == ["open"]
    assert not breaker.allow()
    snap = breaker.snapshot()
    assert snap["state"] == "open" and snap["failures"] == 3 and snap["opens"] == 1
    assert snap["failures_by_kind"] == {"error": 2, "timeout": 1}
    assert snap["last_error"]["kind"] == "error" and snap["last_error"]["message"] == "boom"
    assert snap["cooldown_s"] == 30.0 and snap["next_probe_in_s"] == 30.0
    assert snap["opened_at"] == pytest.approx(1.7e9 + 1000.0)
    assert snap["next_probe_at"] == pytest.approx(1.7e9 + 1030.0)


def test_failures_outside_the_window_do_not_count(clock: Clock) -> None:
    breaker, _ = make(clock)
    breaker.failure("error", "1")
    clock.t += 6
    breaker.failure("error", "2")
    clock.t += 5  # the first is now 11 s old: outside the 10 s window
    breaker.failure("error", "3")
    assert breaker.state == "closed"
    assert breaker.snapshot()["recent_failures"] == 2
    clock.t += 1
    breaker.failure("error", "4")  # 2, 3, 4 within 10 s
    assert breaker.state == "open"


def test_successes_between_failures_do_not_reset_the_window(clock: Clock) -> None:
    breaker, _ = make(clock)
    for _ in range(3):
        breaker.failure("error", "x")
        breaker.success()
    assert breaker.state == "open"


def test_cooldown_doubles_on_each_reopen_and_caps(clock: Clock) -> None:
    breaker, changes = make(clock)
    for _ in range(3):
        breaker.failure("error", "x")
    seen = []
    for _ in range(8):
        cooldown = breaker.cooldown_s
        seen.append(cooldown)
        clock.t += cooldown - 0.5
        assert not breaker.allow(), "still cooling down"
        clock.t += 0.5
        assert breaker.allow(), "the probe"
        assert breaker.state == "half_open"
        breaker.failure("error", "probe failed")
        assert breaker.state == "open"
    assert seen == [30, 60, 120, 240, 480, 600, 600, 600]
    assert changes[:4] == ["open", "half_open", "open", "half_open"]


def test_probe_success_closes_and_resets_the_growth(clock: Clock) -> None:
    breaker, changes = make(clock)
    for _ in range(3):
        breaker.failure("error", "x")
    clock.t += 30
    assert breaker.allow()
    breaker.failure("error", "x")  # re-open: 60 s
    clock.t += 60
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and changes[-1] == "closed"
    assert breaker.allow()
    for _ in range(3):
        breaker.failure("error", "y")
    assert breaker.state == "open" and breaker.cooldown_s == 30  # growth reset by the success


def test_half_open_lets_exactly_one_probe_through(clock: Clock) -> None:
    breaker, _ = make(clock)
    for _ in range(3):
        breaker.failure("error", "x")
    clock.t += 30
    assert breaker.allow()  # the probe
    assert [breaker.allow() for _ in range(5)] == [False] * 5  # concurrent callers skip it
    assert "probing" in breaker.open_message()
    breaker.release()  # the probe ended with no verdict (a cancelled call)
    assert breaker.allow() and not breaker.allow()  # the next caller probes instead
    breaker.success()
    assert all(breaker.allow() for _ in range(5))


def test_a_late_success_while_open_does_not_close(clock: Clock) -> None:
    breaker, _ = make(clock)
    for _ in range(3):
        breaker.failure("error", "x")
    breaker.success()  # a call let through before the breaker opened, ending late
    assert breaker.state == "open"


def test_policy_from_settings_and_hook_errors_swallowed(clock: Clock) -> None:
    from ttsign.config import Settings

    s = Settings(
        _env_file=None, breaker_failures=2, breaker_window_s=5, breaker_cooldown_s=7, breaker_max_cooldown_s=20
    )  # type: ignore[call-arg]
    policy = BreakerPolicy.from_settings(s)
    assert (policy.failures, policy.window_s, policy.cooldown_s, policy.max_cooldown_s) == (2, 5, 7, 20)
    assert [policy.cooldown(n) for n in range(4)] == [7, 14, 20, 20]

    def bad_hook(state: str) -> None:
        raise RuntimeError("metrics down")

    breaker = Breaker(policy, clock=clock, on_change=bad_hook)
    breaker.failure("error", "x")
    breaker.failure("error", "x")
    assert breaker.state == "open"
