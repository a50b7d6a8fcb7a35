"""What an alert says: the title and body of the message sent for an `Event` (pure: no I/O, no clock).

Markdown-ish plain text that reads well in Slack, Discord, Telegram and e-mail alike: the title names the
severity and the event's own title; the body gives severity, kind, key and time, then the evidence (the
event's `detail`, one `- name: value` line each, nested values as compact JSON, long values cut), then one
line on what happens to repeats. A recovery notice names the condition that cleared and how long it lasted;
a suppression summary says how many alerts the hourly budget held back and which.

Nothing here redacts: the alerter (`ttsign.monitor.alerts`) masks secrets in the finished text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ttsign.monitor.model import Event

PREFIX = "ttsign"
MAX_VALUE_CHARS = 300
"""One evidence value is cut to this many characters."""
MAX_BODY_CHARS = 1800
"""A whole body is cut to this (Discord's limit is 2000 characters, Telegram's 4096)."""
MAX_EVIDENCE_LINES = 30
MAX_LISTED = 10
"""Alerts named by a suppression summary (the rest are counted)."""

SEVERITY_LABEL = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "info": "INFO"}
NOTIFY_TYPE = {"critical": "failure", "high": "failure", "medium": "warning", "info": "info"}
"""apprise's notify types (`apprise.NotifyType` values) by severity; a recovery is `success`."""


@dataclass(frozen=True, slots=True)
class Message:
    """One alert as sent: `notify_type` is an apprise notify type (`info`, `success`, `warning`, `failure`)."""

    title: str
    body: str
    notify_type: str
    key: str = ""


def when(at: float) -> str:
    """`2026-12-01 18:30:05 UTC` for a unix time."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def duration(seconds: float) -> str:
    """`45 s`, `12 min 5 s`, `3 h 2 min`, `2 d 4 h`: how long a condition lasted, two units at most."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    minutes, s = divmod(s, 60)
    if minutes < 60:
        return f"{minutes} min {s} s" if s else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _one_line(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _value(value: Any) -> str:
    if isinstance(value, str):
        shown = value
    else:
        try:
            shown = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            shown = repr(value)
    return _one_line(shown, MAX_VALUE_CHARS)


def evidence_lines(detail: Mapping[str, Any]) -> list[str]:
    """`- name: value` for each item of an event's detail (at most `MAX_EVIDENCE_LINES`, then a count)."""
    items = list(detail.items())
    lines = [f"- {_one_line(str(name), 80)}: {_value(value)}" for name, value in items[:MAX_EVIDENCE_LINES]]
    if len(items) > MAX_EVIDENCE_LINES:
        lines.append(f"- ... and {len(items) - MAX_EVIDENCE_LINES} more")
    return lines


def _cut(body: str) -> str:
    return body if len(body) <= MAX_BODY_CHARS else body[: MAX_BODY_CHARS - 20].rstrip() + "\n... (cut)"


def severity_label(event: Event) -> str:
    return SEVERITY_LABEL.get(event.severity, str(event.severity).upper())


def alert(event: Event) -> Message:
    """The alert for an event that opens (or changes) a condition."""
    label = severity_label(event)
    title = _one_line(f"{PREFIX} {label}: {event.title}", 250)
    lines = [
        f"**Severity:** {label}",
        f"**Kind:** {event.kind}",
        f"**Key:** {event.key}",
        f"**At:** {when(event.at)}",
    ]
    if event.fingerprint:
        lines.append(f"**Fingerprint:** {_one_line(event.fingerprint, 120)}")
    evidence = evidence_lines(event.detail)
    if evidence:
        lines += ["", "**Evidence:**", *evidence]
    lines += ["", "Repeats are not sent again until this changes or recovers."]
    return Message(title, _cut("\n".join(lines)), NOTIFY_TYPE.get(event.severity, "info"), event.key)


def recovery(opened: Event, cleared: Event) -> Message:
    """The notice that the condition `opened` alerted on has cleared (`cleared` is the `recovery` event)."""
    lasted = duration(cleared.at - opened.at)
    title = _one_line(f"{PREFIX} RECOVERED: {opened.title} (after {lasted})", 250)
    lines = [
        f"**Recovered:** {cleared.title}",
        f"**Was:** {severity_label(opened)} {opened.kind}: {opened.title}",
        f"**Key:** {opened.key}",
        f"**Lasted:** {lasted} ({when(opened.at)} to {when(cleared.at)})",
    ]
    evidence = evidence_lines(cleared.detail)
    if evidence:
        lines += ["", "**Evidence:**", *evidence]
    return Message(title, _cut("\n".join(lines)), "success", opened.key)


def suppressed(count: int, titles: Sequence[str], per_hour: int, since: float, until: float) -> Message:
    """The summary of `count` alerts the hourly budget held back between `since` and `until` (`titles`: the
    first few of them, in order)."""
    noun = "alert" if count == 1 else "alerts"
    title = f"{PREFIX} INFO: {count} {noun} suppressed by the rate limit"
    lines = [
        "**Severity:** INFO",
        f"**Suppressed:** {count} {noun} from {when(since)} to {when(until)}",
        f"**Budget:** {per_hour} alerts per hour (TTSIGN_ALERTS_PER_HOUR)",
        "",
        "**Held back:**",
        *(f"- {_one_line(t, 200)}" for t in titles[:MAX_LISTED]),
    ]
    if count > min(len(titles), MAX_LISTED):
        lines.append(f"- ... and {count - min(len(titles), MAX_LISTED)} more")
    lines += ["", "The status page and /v1/providers show the current state."]
    return Message(title, _cut("\n".join(lines)), "info", "alerts:suppressed")
