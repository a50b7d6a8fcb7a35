"""What an alert says (`ttsign.monitor.alert_format`, pure): severity in the title and body, the evidence one
line per item, long or nested values bounded, a recovery naming how long the condition lasted, a summary of
suppressed alerts naming them."""

from __future__ import annotations

import pytest

from ttsign.monitor import alert_format as fmt
from ttsign.monitor.model import Event

AT = 1_796_150_000.0  # 2026-12-01 18:33:20 UTC


def sdk_event(**over: object) -> Event:
    base: dict[str, object] = {
        "kind": "sdk_build",
        "key": "sdk_build",
        "severity": "high",
        "title": "TikTok's page loads a new SDK build: 1.0.0.368 -> 1.0.0.372",
        "detail": {
            "old": {"version": "1.0.0.368", "sha256": "ab" * 32},
            "new": {"version": "1.0.0.372", "sha256": "cd" * 32},
            "signed_paths_added": ["/api/recommend/item_list/"],
        },
        "at": AT,
        "fingerprint": "cd" * 32,
    }
    base.update(over)
    return Event(**base)  # type: ignore[arg-type]


def test_an_alert_names_severity_kind_key_time_and_evidence() -> None:
    m = fmt.alert(sdk_event())
    assert m.title == "ttsign HIGH: TikTok's page loads a new SDK build: 1.0.0.368 -> 1.0.0.372"
    assert m.notify_type == "failure" and m.key == "sdk_build"
    lines = m.body.splitlines()
    assert lines[:4] == [
        "**Severity:** HIGH",
        "**Kind:** sdk_build",
        "**Key:** sdk_build",
        "**At:** 2026-12-01 18:33:20 UTC",
    ]
    assert '- new: {"sha256":"' + "cd" * 32 + '","version":"1.0.0.372"}' in lines
    assert '- signed_paths_added: ["/api/recommend/item_list/"]' in lines
    assert lines[-1] == "Repeats are not sent again until this changes or recovers."


@pytest.mark.parametrize(
    ("severity", "label", "notify"),
    [
        ("critical", "CRITICAL", "failure"),
        ("high", "HIGH", "failure"),
        ("medium", "MEDIUM", "warning"),
        ("info", "INFO", "info"),
    ],
)
def test_each_severity_is_shown_and_mapped_to_an_apprise_type(severity: str, label: str, notify: str) -> None:
    m = fmt.alert(sdk_event(severity=severity))
    assert m.title.startswith(f"ttsign {label}: ") and f"**Severity:** {label}" in m.body
    assert m.notify_type == notify


def test_long_values_and_bodies_are_bounded() -> None:
    detail = {f"field{i}": "x" * 1000 for i in range(50)}
    m = fmt.alert(sdk_event(detail=detail, title="t" * 400))
    assert len(m.title) <= 250 and m.title.endswith("...")
    assert len(m.body) <= fmt.MAX_BODY_CHARS
    evidence = [line for line in m.body.splitlines() if line.startswith("- field")]
    assert evidence and all(len(line) <= fmt.MAX_VALUE_CHARS + 12 for line in evidence)
    assert fmt.evidence_lines(detail)[-1] == f"- ... and {50 - fmt.MAX_EVIDENCE_LINES} more"
    assert fmt.evidence_lines({"multi": "one\ntwo\n\tthree"}) == ["- multi: one two three"]  # one line each


def test_a_recovery_names_the_condition_and_how_long_it_lasted() -> None:
    opened = sdk_event()
    cleared = Event(kind="recovery", key="sdk_build", severity="info", title="the pinned build is back", at=AT + 3725)
    m = fmt.recovery(opened, cleared)
    assert m.title == f"ttsign RECOVERED: {opened.title} (after 1 h 2 min)"
    assert m.notify_type == "success"
    assert "**Recovered:** the pinned build is back" in m.body
    assert "**Was:** HIGH sdk_build:" in m.body
    assert "**Lasted:** 1 h 2 min (2026-12-01 18:33:20 UTC to 2026-12-01 19:35:25 UTC)" in m.body


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (44.6, "45 s"),
        (60, "1 min"),
        (125, "2 min 5 s"),
        (3600, "1 h"),
        (3725, "1 h 2 min"),
        (90000, "1 d 1 h"),
        (-3, "0 s"),
    ],
)
def test_durations(seconds: float, text: str) -> None:
    assert fmt.duration(seconds) == text


def test_a_suppression_summary_counts_and_names_what_was_held_back() -> None:
    titles = [f"ttsign MEDIUM: probe {i} failed" for i in range(14)]
    m = fmt.suppressed(14, titles, 30, AT, AT + 600)
    assert m.title == "ttsign INFO: 14 alerts suppressed by the rate limit"
    assert "30 alerts per hour (TTSIGN_ALERTS_PER_HOUR)" in m.body
    assert "- ttsign MEDIUM: probe 9 failed" in m.body and "probe 10 failed" not in m.body
    assert "- ... and 4 more" in m.body
    assert fmt.suppressed(1, titles[:1], 5, AT, AT).title == "ttsign INFO: 1 alert suppressed by the rate limit"
