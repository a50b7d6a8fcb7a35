"""A circuit breaker per provider: pure state (the clocks are injected; no I/O, no asyncio).

* **closed**: calls go through. `breaker_failures` (K) failures within `breaker_window_s` open it
  (failures, not consecutive failures: successes in between do not clear the window).
* **open**: calls are skipped for a cooldown: `breaker_cooldown_s` the first time, doubled on each
  consecutive re-open (a failed probe), up to `breaker_max_cooldown_s` (30 s -> 60 -> ... -> 600 s).
* **half_open**: once the cooldown is over, the next caller is let through as the one probe
  (`allow()` returns True for it alone); concurrent callers during the probe skip the provider. A probe
  success closes the breaker and resets the cooldown growth; a probe failure re-opens it with the grown
  cooldown. A probe that ends with no verdict (the caller's error, a cancellation) is `release()`d: the
  next caller probes instead.

Written here rather than taken from a library: pybreaker and aiobreaker count consecutive failures with a
fixed reset timeout and let every caller through while half-open; neither grows the cooldown, limits the
half-open state to one probe, or takes an injected clock.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ttsign.config import Settings

State = Literal["closed", "open", "half_open"]
CLOSED: State = "closed"
OPEN: State = "open"
HALF_OPEN: State = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failures: int = 5
    """K: failures within `window_s` that open the breaker."""
    window_s: float = 60.0
    cooldown_s: float = 30.0
    """The first open's cooldown; doubled on each consecutive re-open."""
    max_cooldown_s: float = 600.0

    def __post_init__(self) -> None:
        if self.failures < 1 or self.window_s <= 0 or self.cooldown_s <= 0 or self.max_cooldown_s <= 0:
            raise ValueError("breaker policy: failures >= 1 and positive window and cooldowns")

    @classmethod
    def from_settings(cls, settings: Settings) -> BreakerPolicy:
        return cls(
            settings.breaker_failures,
            settings.breaker_window_s,
            settings.breaker_cooldown_s,
            max(settings.breaker_max_cooldown_s, settings.breaker_cooldown_s),
        )

    def cooldown(self, reopens: int) -> float:
        """The cooldown of an open that follows `reopens` consecutive failed probes."""
        return min(self.cooldown_s * 2.0 ** min(reopens, 64), max(self.max_cooldown_s, self.cooldown_s))


class Breaker:
    """One provider's breaker. Not thread-safe: the chain uses it from one event loop."""

    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        on_change: Callable[[State], None] | None = None,
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._wall = wall
        self._on_change = on_change
        self.state: State = CLOSED
        self._recent: deque[float] = deque()
        self._reopens = 0
        """Consecutive re-opens since the breaker last closed (the cooldown's growth)."""
        self._probing = False
        self._probe_mono = 0.0
        self.cooldown_s = 0.0
        """The current (or last) open's cooldown."""
        self.opened_at: float | None = None
        """Wall time (unix seconds) the breaker last opened; None if it never did."""
        self.opens = 0
        self.successes = 0
        self.failures = 0
        self.failures_by_kind: dict[str, int] = {}
        self.skipped = 0
        self.last_error: tuple[str, str, float] | None = None
        """(kind, message, wall time) of the last failure."""
        self.changed_at = 0.0
        """Wall time of the last open or close, made here or taken with `apply` (orders shared states)."""
        self.on_transition: Callable[[State], None] | None = None
        """Called after an open or close this breaker made itself (not one taken with `apply`): the shared
        store's hook (`ttsign.store.breakers`)."""
        self.probe_permit: Callable[[], bool] | None = None
        """Asked before a half-open breaker lets its probe through (the shared store's lease); None: always."""

    # -- the chain's calls ---------------------------------------------------------------------
    def allow(self) -> bool:
        """May this caller call the provider now? True while closed; for the probe once the cooldown is over."""
        if self.state == CLOSED:
            return True
        if self.state == OPEN and self._clock() >= self._probe_mono:
            self._set(HALF_OPEN)
        if self.state == HALF_OPEN and not self._probing:
            permit = self.probe_permit
            if permit is None or permit():
                self._probing = True
                return True
        self.skipped += 1
        return False

    def success(self) -> None:
        self.successes += 1
        if self.state == HALF_OPEN:  # the probe's success (a late success while open proves nothing new)
            self._probing = False
            self._reopens = 0
            self._recent.clear()
            self._set(CLOSED)

    def failure(self, kind: str, message: str) -> None:
        now = self._clock()
        self.failures += 1
        self.failures_by_kind[kind] = self.failures_by_kind.get(kind, 0) + 1
        self.last_error = (kind, message, self._wall())
        if self.state == HALF_OPEN:
            if self._probing:  # the probe failed: open again, for longer
                self._probing = False
                self._reopens += 1
                self._open(now)
            return
        if self.state == OPEN:  # a call let through before the breaker opened, ending late
            return
        recent = self._recent
        recent.append(now)
        horizon = now - self.policy.window_s
        while recent and recent[0] <= horizon:
            recent.popleft()
        if len(recent) >= self.policy.failures:
            self._open(now)

    def release(self) -> None:
        """The call this breaker allowed ended with no verdict on the provider: free the probe slot."""
        self._probing = False

    def apply(self, state: State, *, at: float, until: float = 0.0, cooldown_s: float = 0.0, reopens: int = 0) -> bool:
        """Take an open or close another instance's breaker published at wall time `at` (an open's probe due
        at wall time `until`), unless this breaker opened or closed later itself. True when taken."""
        if at <= self.changed_at or state == HALF_OPEN:
            return False
        self.changed_at = at
        self._probing = False
        self._recent.clear()
        if state == OPEN:
            self.cooldown_s = cooldown_s
            self._reopens = reopens
            self._probe_mono = self._clock() + max(0.0, until - self._wall())
            self.opened_at = until - cooldown_s
            self._set(OPEN, force=True, external=True)
        else:
            self._reopens = 0
            self._set(CLOSED, external=True)
        return True

    def shared_state(self) -> dict[str, Any]:
        """This breaker's last open or close, as `apply` takes it (JSON-safe)."""
        until = self._wall() + self.next_probe_in() if self.state == OPEN else 0.0
        return {
            "state": OPEN if self.state == OPEN else CLOSED,
            "at": self.changed_at,
            "until": until,
            "cooldown_s": self.cooldown_s,
            "reopens": self._reopens,
        }

    # -- reading -------------------------------------------------------------------------------
    def next_probe_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open or already due)."""
        if self.state != OPEN:
            return 0.0
        return max(0.0, self._probe_mono - self._clock())

    def recent_failures(self) -> int:
        horizon = self._clock() - self.policy.window_s
        return sum(1 for t in self._recent if t > horizon) if self.state == CLOSED else 0

    def open_message(self) -> str:
        """Why a caller skipped the provider, in one line."""
        if self.state == HALF_OPEN:
            return "circuit half-open: another call is probing the provider"
        last = f" (last: {self.last_error[0]})" if self.last_error else ""
        return f"circuit open after repeated failures{last}; next probe in {self.next_probe_in():.0f} s"

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe state for /health and /v1/providers."""
        state = self.state
        due = self.next_probe_in() if state == OPEN else 0.0
        return {
            "state": state,
            "successes": self.successes,
            "failures": self.failures,
            "failures_by_kind": dict(self.failures_by_kind),
            "recent_failures": self.recent_failures(),
            "threshold": self.policy.failures,
            "window_s": self.policy.window_s,
            "opens": self.opens,
            "reopens": self._reopens,
            "skipped": self.skipped,
            "cooldown_s": self.cooldown_s,
            "opened_at": round(self.opened_at, 3) if self.opened_at is not None else None,
            "next_probe_at": round(self._wall() + due, 3) if state == OPEN else None,
            "next_probe_in_s": round(due, 3) if state == OPEN else None,
            "probing": self._probing,
            "last_error": (
                {"kind": self.last_error[0], "message": self.last_error[1], "at": round(self.last_error[2], 3)}
                if self.last_error
                else None
            ),
        }

    # -- transitions ---------------------------------------------------------------------------
    def _open(self, now: float) -> None:
        self.cooldown_s = self.policy.cooldown(self._reopens)
        self._probe_mono = now + self.cooldown_s
        self.opened_at = self._wall()
        self.opens += 1
        self._recent.clear()
        self._set(OPEN, force=True)

    def _set(self, state: State, *, force: bool = False, external: bool = False) -> None:
        if state == self.state and not force:
            return
        self.state = state
        if not external and state != HALF_OPEN:
            self.changed_at = self._wall()
            hook = self.on_transition
            if hook is not None:
                try:
                    hook(state)
                except Exception:  # sharing must never break signing
                    pass
        if self._on_change is not None:
            try:
                self._on_change(state)
            except Exception:  # a metrics hook must never break signing
                pass
