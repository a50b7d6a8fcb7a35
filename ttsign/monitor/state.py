"""What the monitor remembers between cycles, read by `/status`, `/health` and the CLI: the last N cycles,
the conditions currently wrong (by event key), the last drift, and the SDK build seen against the pinned one."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ttsign.monitor.model import CycleResult, Event


@dataclass
class MonitorState:
    history: int = 96
    cycles: deque[CycleResult] = field(init=False)
    active: dict[str, Event] = field(default_factory=dict)  # event key -> the event that opened the condition
    last_drift: Event | None = None
    sdk_seen: dict[str, Any] = field(default_factory=dict)  # {"version": ..., "sha256": ..., "url": ...}
    sdk_pinned: dict[str, Any] = field(default_factory=dict)  # from the baseline (TTSIGN_MONITOR_BASELINE)
    running: bool = False  # a background loop runs in this process (it holds the monitor lease)

    def __post_init__(self) -> None:
        self.cycles = deque(maxlen=self.history)

    def record(self, cycle: CycleResult) -> None:
        self.cycles.append(cycle)

    @property
    def last(self) -> CycleResult | None:
        return self.cycles[-1] if self.cycles else None
