"""The monitor's shared types: an `Event` (what the operator is told), a `CheckResult` (one check's outcome
with its evidence) and a `CycleResult` (one canary cycle). Pure data, no I/O."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["ok", "drift", "fail", "skipped"]
"""ok: as expected; drift: something changed (evidence says what); fail: the check could not tell (an error);
skipped: not configured (a live probe without TTSIGN_MONITOR_LIVE_USER, the browser provider absent)."""

Severity = Literal["critical", "high", "medium", "info"]
"""critical: a token's layout or version changed; high: the SDK build changed or every provider fails;
medium: a fingerprint or socket fact changed, a probe failed; info: recoveries and automatic actions."""

EventKind = Literal[
    "drift",  # agreement: native and the browser's SDK disagree
    "sdk_build",  # the SDK script(s) the page loads changed
    "player_change",  # a socket fact the player depends on changed
    "probe_failure",  # a live probe failed (classified)
    "ws_mode_change",  # the socket now needs another signing mode
    "breaker_open",  # a provider's breaker opened
    "provider_outage",  # every provider fails
    "mitigation",  # an automatic action taken or reversed (native demoted, maintenance on)
    "maintenance",  # maintenance mode switched by an operator
    "recovery",  # a condition of an earlier event cleared
]


@dataclass(frozen=True)
class Event:
    """One thing the operator should hear about. `key` identifies the condition (alerts de-duplicate on it:
    one alert per key until its `fingerprint` changes or a `recovery` with the same key arrives)."""

    kind: EventKind
    key: str  # e.g. "agreement" (one per check; its detail names the URLs), "sdk_build", "breaker:native"
    severity: Severity
    title: str  # one line, no secrets (alerts redact anyway)
    detail: dict[str, Any] = field(default_factory=dict)  # the evidence; JSON-serialisable
    at: float = field(default_factory=time.time)
    fingerprint: str = ""  # what makes a repeat of this key a *new* alert (e.g. the new SDK hash)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckResult:
    name: str  # "agreement", "sdk_build", "player", "live_probe"
    outcome: Outcome
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    events: list[Event] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome,
            "evidence": self.evidence,
            "duration_s": round(self.duration_s, 4),
            "events": [e.to_dict() for e in self.events],
        }


@dataclass
class CycleResult:
    started: float
    duration_s: float
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        """The worst of the checks' outcomes: drift > fail > ok > skipped (all skipped: skipped)."""
        seen = {c.outcome for c in self.checks}
        for worst in ("drift", "fail", "ok"):
            if worst in seen:
                return worst  # type: ignore[return-value]
        return "skipped"

    def to_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "duration_s": round(self.duration_s, 4),
            "outcome": self.outcome,
            "checks": [c.to_dict() for c in self.checks],
        }
