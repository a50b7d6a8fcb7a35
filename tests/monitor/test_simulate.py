"""`ttsign monitor --simulate KIND` end to end: the change, its detection by a monitor cycle, the event, the
alert delivered to a local JSON webhook (marked `[simulation]`), the mitigation and what a caller gets, then
the revert, the recovery and the mitigation undone, printed as a timeline with its figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.api.conftest import make_settings
from ttsign.monitor import alerts
from ttsign.monitor.simulate import KINDS, SimulationError, Timeline, run

HAS_ALERTER = hasattr(alerts, "Alerter")
NEEDS = {"new-build": "ttsign.monitor.sdk_watch", "provider-down": "ttsign.monitor.breaker_events"}
"""The module each kind needs beyond the cycle (the SDK build watch; the breakers' outage events)."""


class Webhook:
    """A JSON webhook on 127.0.0.1 (what apprise's json:// posts to), recording each body."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def steps(timeline: Timeline, what: str) -> list[str]:
    return [s.text for s in timeline.steps if s.what == what]


def test_the_cli_prints_the_whole_timeline_of_a_drift(webhook: Webhook) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_")}
    env.update(TTSIGN_ALERT_URLS=webhook.url, TTSIGN_LOG_LEVEL="error", TTSIGN_STORE="memory")
    r = subprocess.run(
        [sys.executable, "-m", "ttsign", "monitor", "--simulate", "drift"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    lines = out.splitlines()
    start = lines.index("simulation: drift (in-process; alerts marked [simulation])")
    body = "\n".join(lines[start:])
    order = [
        "cycle       monitor cycle: agreement ok",
        "caller      200 signed by native",
        "change      TikTok's SDK now signs with another X-Gnarly layout",
        "cycle       monitor cycle: agreement drift",
        "event       drift [agreement] native and TikTok's SDK disagree",
        "mitigation  mitigation [mitigation:demote:native] native demoted behind browser",
        "caller      200 signed by browser",
        "revert      ",
        "cycle       monitor cycle: agreement ok",
        "recovery    recovery [agreement] cleared",
        "mitigation  recovery [mitigation:demote:native] native restored",
        "caller      200 signed by native",
    ]
    at = 0
    for text in order:
        found = body.find(text, at)
        assert found >= 0, (text, body)
        at = found + len(text)
    assert "figures: cycle_s " in body and "detected_s " in body and "detected_s -" not in body
    assert "result: detected, mitigated where it applies, recovered" in body
    if HAS_ALERTER:
        assert "4 decided, 4 delivered, 0 failed, to 1 sink(s)" in body, body
        titles = [m.get("title", "") for m in webhook.received]
        assert len(titles) == 4 and all("[simulation]" in t for t in titles), titles
        assert any("disagree" in t for t in titles) and any("demoted" in t for t in titles)


def test_a_kind_it_does_not_know_is_one_line_and_exit_2() -> None:
    from typer.testing import CliRunner

    from ttsign.cli import app

    r = CliRunner().invoke(app, ["monitor", "--simulate", "earthquake"])
    assert r.exit_code == 2 and r.stderr.strip().splitlines() == [
        "error: --simulate 'earthquake' is not a kind: use one of " + ", ".join(KINDS)
    ], r.output


async def test_unknown_kinds_raise() -> None:
    with pytest.raises(SimulationError):
        await run("earthquake", make_settings(), echo=None)


async def test_new_build_is_read_from_the_page_and_alerted(webhook: Webhook) -> None:
    pytest.importorskip(NEEDS["new-build"])
    printed: list[str] = []
    t = await run("new-build", make_settings(alert_urls=webhook.url), echo=printed.append)
    assert t.ok, printed
    assert steps(t, "cycle")[1].startswith("monitor cycle: sdk_build drift")
    (event,) = steps(t, "event")
    assert "sdk_build [sdk_build] TikTok's SDK build changed: 1.0.0.368, 5.1.3-ZTCA -> 1.0.0.372, 5.1.4-ZTCA" in event
    assert steps(t, "mitigation") == []  # no automatic action for a new build: the alert says what to do
    assert steps(t, "recovery")[0].startswith("recovery [sdk_build]")
    assert all(s.startswith("200 signed by native") for s in steps(t, "caller"))
    assert t.figures["detected_s"] is not None and t.figures["recovered_s"] is not None
    assert printed[0].startswith("simulation: new-build") and printed[-1].startswith("result: detected")
    if HAS_ALERTER:
        assert ["[simulation]" in m["title"] for m in webhook.received] == [True, True], webhook.received


async def test_socket_refusal_is_a_ws_mode_change_and_its_recovery() -> None:
    t = await run("socket-refusal", make_settings(), echo=None)
    assert t.ok
    (event,) = steps(t, "event")
    assert event.startswith("ws_mode_change [live_probe:ws_mode]") and "accepted x-gnarly" in event
    assert steps(t, "recovery")[0].startswith("recovery [live_probe:ws_mode]")


async def test_provider_down_pauses_callers_with_maintenance_until_the_providers_answer() -> None:
    pytest.importorskip(NEEDS["provider-down"])
    t = await run("provider-down", make_settings(), echo=None)
    assert t.ok, "\n".join(t.lines())
    assert any(e.startswith("provider_outage [providers:all]") for e in steps(t, "event"))
    mitigations = steps(t, "mitigation")
    assert mitigations[0].startswith("mitigation [mitigation:maintenance] maintenance mode on")
    assert mitigations[-1].startswith("recovery [mitigation:maintenance] maintenance mode off")
    callers = steps(t, "caller")
    assert callers[0] == "200 signed by native"
    assert callers[-2].startswith("503, Retry-After 300: ") and "every signing provider" in callers[-2]
    assert callers[-1].startswith("200 signed by")
    figures = t.figures
    assert figures["detected_s"] is not None and figures["mitigated_s"] is not None
    assert figures["recovered_s"] is not None and figures["recovered_s"] < 5.0


async def test_with_the_response_off_nothing_is_mitigated_and_the_result_says_so() -> None:
    t = await run("drift", make_settings(monitor_mitigate=False), echo=None)
    assert steps(t, "mitigation") == []
    assert steps(t, "caller")[1] == "200 signed by native"  # not demoted
    assert t.figures["mitigated_s"] is None and t.ok  # detected and recovered; nothing to undo


@pytest.mark.parametrize("kind", KINDS)
async def test_a_simulation_never_touches_a_shared_store(kind: str) -> None:
    if kind in NEEDS:
        pytest.importorskip(NEEDS[kind])
    t = await run(kind, make_settings(store="redis://127.0.0.1:9/0"), echo=None)  # nothing listens there
    assert t.ok, "\n".join(t.lines())
