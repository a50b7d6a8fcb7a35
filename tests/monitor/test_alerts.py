"""The alerter (`ttsign.monitor.alerts`) delivering to real local receivers through apprise: a JSON webhook
and an SMTP server on 127.0.0.1. Content (title, severity, evidence), de-duplication, the recovery notice,
the hourly rate limit and its summary, redaction (alert text, logs, describe), and a dead or hanging sink
that neither blocks the bus nor loses the other sinks' alerts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.monitor.alert_receivers import SmtpServer, Webhook, refused_url, wait_for
from ttsign.config import Settings
from ttsign.monitor import alerts
from ttsign.monitor.alerts import Alerter, check_urls, split_urls
from ttsign.monitor.bus import EventBus
from ttsign.monitor.model import Event
from ttsign.server.app import create_app

pytestmark = pytest.mark.timeout(60)

FAST = {"timeout_s": 1.0, "attempts": 2, "backoff_s": 0.05, "drain_s": 1.0}


def drift(fingerprint: str = "X-Gnarly.version", **detail: object) -> Event:
    return Event(
        kind="drift",
        key="agreement:/api/post/item_list/",
        severity="critical",
        title="native and the browser's SDK disagree on X-Gnarly",
        detail={"fields": ["X-Gnarly.version", "X-Gnarly.length"], "native": "5.3.2", "browser": "5.4.0", **detail},
        fingerprint=fingerprint,
    )


def recovered(at: float | None = None) -> Event:
    return Event(
        kind="recovery",
        key="agreement:/api/post/item_list/",
        severity="info",
        title="native and the browser agree again",
        at=at if at is not None else time.time(),
    )


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with Webhook() as hook:
        yield hook


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def unpaced(alerter: Alerter) -> Alerter:
    """apprise waits 5.5 s between two e-mails to one server (its `request_rate_per_sec`); the tests' mailbox
    needs no pacing (`test_apprises_pacing_is_waited_not_a_timeout` keeps it)."""
    for sink in alerter.sinks:
        sink.service[0].request_rate_per_sec = 0
        sink.throttle_s = 0.0
    return alerter


async def wired(alerter: Alerter, *, paced: bool = False) -> EventBus:
    if not paced:
        unpaced(alerter)
    bus = EventBus()
    bus.subscribe(alerter.handle)
    await alerter.start()
    return bus


async def until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# -- content ------------------------------------------------------------------------------------------------


async def test_an_alert_reaches_the_webhook_and_the_mailbox_with_severity_and_evidence(
    webhook: Webhook, smtp: SmtpServer
) -> None:
    alerter = Alerter([webhook.url(), smtp.url()], **FAST)
    bus = await wired(alerter)
    await bus.emit(drift())
    await alerter.idle()
    await alerter.close()

    [hook] = webhook.messages
    assert hook["title"] == "ttsign CRITICAL: native and the browser's SDK disagree on X-Gnarly"
    assert hook["type"] == "failure"  # apprise's notify type for critical
    body = hook["message"]
    for line in ("CRITICAL", "drift", "agreement:/api/post/item_list/", "X-Gnarly.version", "5.4.0", "5.3.2"):
        assert line in body, (line, body)

    [mail] = smtp.mails
    assert mail["Subject"] == hook["title"]
    assert mail["To"] == "ops@example.com" and mail["From"] == "ttsign@example.com"
    text = smtp.text(mail)
    assert "CRITICAL" in text and "X-Gnarly.length" in text and "browser" in text
    assert alerter.describe()["sent"] == 2 and alerter.describe()["failed"] == 0


# -- de-duplication and recovery ----------------------------------------------------------------------------


async def test_one_alert_per_condition_until_it_changes_or_recovers(webhook: Webhook, smtp: SmtpServer) -> None:
    alerter = Alerter([webhook.url(), smtp.url()], **FAST)
    bus = await wired(alerter)
    began = time.time() - 125  # the condition began 2 min 5 s ago
    first = drift()
    for _ in range(5):  # the monitor sees the same drift every cycle
        await bus.emit(Event(**{**first.to_dict(), "at": began}))
    await alerter.idle()
    assert len(webhook.messages) == 1 and alerter.describe()["deduplicated"] == 4

    await bus.emit(drift(fingerprint="X-Gnarly.version+X-Bogus.length"))  # it changed: a new alert
    await bus.emit(drift(fingerprint="X-Gnarly.version+X-Bogus.length"))
    await alerter.idle()
    assert len(webhook.messages) == 2

    await bus.emit(recovered())
    await bus.emit(recovered())  # a second recovery of the same key: nothing left to recover
    await alerter.idle()
    titles = webhook.titles
    assert len(titles) == 3, titles
    notice = webhook.messages[2]
    assert notice["type"] == "success"
    assert titles[2].startswith("ttsign RECOVERED: native and the browser's SDK disagree on X-Gnarly (after 2 min")
    assert "Lasted:** 2 min" in notice["message"] and "native and the browser agree again" in notice["message"]

    await bus.emit(drift())  # the same drift after the recovery is a new condition: alerted again
    await alerter.idle()
    await alerter.close()
    assert len(webhook.messages) == 4
    assert len(smtp.mails) == 4  # the mailbox got the same four
    assert "RECOVERED" in str(smtp.mails[2]["Subject"])


# -- rate limit ---------------------------------------------------------------------------------------------


async def test_over_the_hourly_budget_alerts_are_summarised_not_lost(webhook: Webhook) -> None:
    alerter = Alerter([webhook.url()], per_hour=2, window_s=0.6, **FAST)
    bus = await wired(alerter)
    for i in range(6):
        await bus.emit(Event(kind="probe_failure", key=f"probe:{i}", severity="medium", title=f"probe {i} failed"))
    await alerter.idle()
    assert webhook.titles == ["ttsign MEDIUM: probe 0 failed", "ttsign MEDIUM: probe 1 failed"]
    assert alerter.describe()["suppressed"] == 4

    await until(lambda: len(webhook.messages) == 3, timeout=3)  # once the window has room: one summary
    summary = webhook.messages[2]
    assert summary["title"] == "ttsign INFO: 4 alerts suppressed by the rate limit"
    for i in range(2, 6):
        assert f"probe {i} failed" in summary["message"]
    assert "2 alerts per hour" in summary["message"]
    await asyncio.sleep(0.3)
    assert len(webhook.messages) == 3  # one summary, not one per suppressed alert
    await alerter.close()


async def test_a_summary_still_pending_at_shutdown_is_sent(webhook: Webhook) -> None:
    alerter = Alerter([webhook.url()], per_hour=1, **FAST)  # a real hour: the summary would wait
    bus = await wired(alerter)
    for i in range(3):
        await bus.emit(Event(kind="sdk_build", key=f"sdk:{i}", severity="high", title=f"new SDK build {i}"))
    await alerter.idle()
    assert len(webhook.messages) == 1
    await alerter.close()
    assert webhook.titles[1] == "ttsign INFO: 2 alerts suppressed by the rate limit"


# -- redaction ----------------------------------------------------------------------------------------------

API_KEY = "ttsign-api-key-0123456789abcdef"
MS_TOKEN = "msTokenValue-0123456789-ABCDEFGHIJ"
SESSION = "sessionid-value-0123456789abcdef"
PASSWORD = "hunter2-proxy-password"
COOKIE = "ttwid-cookie-value-0123456789"
SINK_TOKEN = "sinkpathtoken0123456789XYZ"
SECRETS = (API_KEY, MS_TOKEN, SESSION, PASSWORD, COOKIE, SINK_TOKEN)


def leaky_event() -> Event:
    return Event(
        kind="probe_failure",
        key="probe:room",
        severity="medium",
        title=f"room lookup failed for https://www.tiktok.com/api/x?msToken={MS_TOKEN}&aid=1988",
        detail={
            "sessionid": SESSION,
            "request": {"headers": {"Cookie": f"ttwid={COOKIE}"}, "x-api-key": API_KEY},
            "proxy": f"http://user:{PASSWORD}@10.0.0.1:3128",
            "note": f"the caller's key {API_KEY} was refused",
            "sink": f"see json://127.0.0.1/hook/{SINK_TOKEN}",
            "status": 403,
        },
    )


async def test_secrets_never_reach_an_alert(webhook: Webhook, smtp: SmtpServer) -> None:
    alerter = Alerter([webhook.url(f"hook/{SINK_TOKEN}"), smtp.url()], secrets=[API_KEY], **FAST)
    bus = await wired(alerter)
    await bus.emit(leaky_event())
    await alerter.idle()
    await alerter.close()
    [hook] = webhook.messages
    [mail] = smtp.mails
    sent = [hook["title"], hook["message"], str(mail["Subject"]), smtp.text(mail)]
    for text in sent:
        for secret in SECRETS:
            assert secret not in text, (secret, text)
    assert "***" in hook["message"] and "status: 403" in hook["message"]  # masked, the rest kept
    assert "room lookup failed" in hook["title"]
    assert webhook.hooks[0].path == f"/hook/{SINK_TOKEN}"  # the sink itself got its own URL


async def test_a_sinks_token_stays_out_of_logs_and_describe(caplog: pytest.LogCaptureFixture) -> None:
    dead = refused_url(f"dead/{SINK_TOKEN}")
    alerter = Alerter([dead, f"json://alice:{PASSWORD}@127.0.0.1:9/x"], **FAST)
    caplog.set_level(logging.DEBUG)  # apprise and urllib3 log whole URLs at debug
    bus = await wired(alerter)
    await bus.emit(drift())
    await alerter.idle()
    await alerter.close()
    described = alerter.describe()
    port = dead.split(":")[2].split("/")[0]
    assert described["sinks"] == [f"json://127.0.0.1:{port}", "json://127.0.0.1:9"]
    assert described["failed"] == 2 and described["last_error"].startswith("json://127.0.0.1")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "apprise" in {r.name for r in caplog.records}  # apprise did log about these sinks
    for secret in (SINK_TOKEN, PASSWORD):
        assert secret not in logged and secret not in repr(described)


def test_a_bad_url_is_refused_by_position_and_scheme_only() -> None:
    check_urls(f"json://127.0.0.1:1/x, mailto://127.0.0.1:2?smtp=127.0.0.1&from=a@example.com&to={'b@example.com'}")
    with pytest.raises(ValueError) as err:
        check_urls(f"json://127.0.0.1/x,nosuchservice://{SINK_TOKEN}@host/{SINK_TOKEN}")
    assert "entry 2 (nosuchservice://...)" in str(err.value) and SINK_TOKEN not in str(err.value)
    assert split_urls("mailto://h.example?to=a@x.example,b@x.example, json://h/x") == [
        "mailto://h.example?to=a@x.example,b@x.example",
        "json://h/x",
    ]


# -- delivery -----------------------------------------------------------------------------------------------


async def test_a_dead_and_a_hanging_sink_neither_block_nor_starve_the_others(
    webhook: Webhook, smtp: SmtpServer
) -> None:
    with Webhook(mode="hang") as hanging:
        alerter = Alerter(
            [hanging.url(), refused_url(), webhook.url(), smtp.url()],
            timeout_s=0.5,
            attempts=2,
            backoff_s=0.05,
            drain_s=0.5,
        )
        bus = await wired(alerter)
        started = time.perf_counter()
        for i in range(3):
            await bus.emit(Event(kind="breaker_open", key=f"breaker:p{i}", severity="medium", title=f"p{i} open"))
        emitting = time.perf_counter() - started
        assert emitting < 0.1, emitting  # the bus never waits for a sink
        await until(lambda: len(webhook.messages) == 3 and len(smtp.mails) == 3, timeout=2)
        delivered = time.perf_counter() - started
        assert delivered < 1.0, delivered  # not behind the hanging sink's 2 x 0.5 s per alert
        assert hanging.attempts >= 1  # the hanging sink was tried meanwhile
        await until(lambda: alerter.describe()["failed"] >= 4, timeout=5)  # refused: 3 alerts; hanging: >= 1
        described = alerter.describe()
        assert described["sent"] == 6
        assert described["last_error"].startswith("json://127.0.0.1:")
        assert "attempts" in described["last_error"] or "queued" in described["last_error"]
        closing = time.perf_counter()
        await alerter.close()  # bounded by drain_s even with the hanging sink's queue not empty
        assert time.perf_counter() - closing < 2.0
        assert alerter.describe()["failed"] == 6  # every alert the two bad sinks could not take is counted


async def test_a_sink_failing_once_gets_the_alert_on_retry(webhook: Webhook) -> None:
    webhook.mode = "fail"
    alerter = Alerter([webhook.url()], timeout_s=1.0, attempts=3, backoff_s=0.2)
    bus = await wired(alerter)
    await bus.emit(drift())
    await until(lambda: webhook.attempts >= 1)
    webhook.mode = "ok"  # back before the second attempt
    await alerter.idle()
    await alerter.close()
    assert len(webhook.messages) == 1 and webhook.attempts == 2
    assert alerter.describe()["sent"] == 1 and alerter.describe()["failed"] == 0


async def test_apprises_pacing_is_waited_not_a_timeout(smtp: SmtpServer) -> None:
    """apprise paces e-mails to one server 5.5 s apart: the second alert waits that long inside its delivery,
    which must not count as a timeout (a retry after an abandoned attempt would send it twice)."""
    alerter = Alerter([smtp.url()], timeout_s=1.0, attempts=2, backoff_s=0.05)
    assert alerter.sinks[0].throttle_s == 5.5
    bus = await wired(alerter, paced=True)
    await bus.emit(drift())
    await bus.emit(Event(kind="sdk_build", key="sdk_build", severity="high", title="a new SDK build"))
    await alerter.idle(timeout=15)
    await alerter.close()
    assert [str(m["Subject"]) for m in smtp.mails] == [
        "ttsign CRITICAL: native and the browser's SDK disagree on X-Gnarly",
        "ttsign HIGH: a new SDK build",
    ]
    assert alerter.describe()["failed"] == 0 and alerter.describe()["sent"] == 2


# -- in the app ---------------------------------------------------------------------------------------------


def test_the_app_builds_the_alerter_from_the_settings(webhook: Webhook) -> None:
    settings = Settings(alert_urls=f"{webhook.url('hook/' + SINK_TOKEN)}", alerts_per_hour=7, log_level="warning")
    app = create_app(settings)
    with TestClient(app) as client:
        services = app.state.services
        assert isinstance(services.alerts, Alerter)
        described = services.alerts.describe()
        assert described["sinks"] == [f"json://127.0.0.1:{webhook.port}"] and described["per_hour"] == 7
        assert SINK_TOKEN not in repr(described)

        async def emit() -> None:  # on the app's loop, as a monitor check would
            await services.events.emit(drift())

        assert client.portal is not None
        client.portal.call(emit)
        # (other subscribers may answer it with events of their own, e.g. the automatic response)
        wait_for(lambda: any(t.startswith("ttsign CRITICAL: native and the browser") for t in webhook.titles))
    assert webhook.hooks[0].path == f"/hook/{SINK_TOKEN}"


def test_no_urls_means_no_sinks_and_nothing_sent() -> None:
    alerter = Alerter([])
    assert alerter.decide(drift()) is not None  # still de-duplicated and counted
    assert alerter.decide(drift()) is None
    assert alerter.describe()["sinks"] == [] and alerter.describe()["sent"] == 0
    assert alerts.install.__doc__


def test_serve_refuses_a_bad_alert_url_in_one_line_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from typer.testing import CliRunner

    from ttsign.cli import app as cli
    from ttsign.config import get_settings

    for name in list(os.environ):
        if name.startswith("TTSIGN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TTSIGN_ALERT_URLS", f"json://127.0.0.1/ok, slakc://{SINK_TOKEN}/{SINK_TOKEN}")
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(cli, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 2, (r.exit_code, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: TTSIGN_ALERT_URLS: entry 2 (slakc://...)"), r.stderr
    assert SINK_TOKEN not in r.stderr + r.stdout


@pytest.mark.parametrize(
    ("url", "secrets", "shown"),
    [
        (
            "slack://T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx/#ops",
            ["T0AAAAAAA", "abcdefghijklmnopqrstuvwx"],
            "slack://T...A",
        ),
        (
            "discord://1234567890/AbCdEfGhIjKlMnOpQrStUvWxYz",
            ["1234567890", "AbCdEfGhIjKlMnOpQrStUvWxYz"],
            "discord://1...0",
        ),
        (
            "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890",
            ["AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "123456789"],
            "tgram://1...w",
        ),
        (
            "mailtos://alerts:app-password@smtp.example.com?to=ops@example.com",
            ["app-password"],
            "mailtos://smtp.example.com",
        ),
        (
            "jsons://hooks.example.com/ttsign/hook-secret-0123456789",
            ["hook-secret-0123456789"],
            "jsons://hooks.example.com",
        ),
    ],
)
def test_a_sink_is_shown_as_scheme_and_host_without_its_tokens(url: str, secrets: list[str], shown: str) -> None:
    described = Alerter([url]).describe()
    assert described["sinks"] == [shown]
    for secret in secrets:
        assert secret not in repr(described)


async def test_a_full_queue_drops_its_oldest_waiting_alert_and_counts_it() -> None:
    with Webhook(mode="hang") as hanging:
        alerter = Alerter([hanging.url()], queue_size=3, timeout_s=5.0, attempts=1, drain_s=0.1)
        bus = await wired(alerter)
        for i in range(6):
            await bus.emit(Event(kind="probe_failure", key=f"probe:{i}", severity="medium", title=f"probe {i}"))
            await asyncio.sleep(0.02)  # the first one is being sent (to a sink that never answers)
        sink = alerter.sinks[0]
        assert sink.busy and [m.title for m in sink.queue] == [
            "ttsign MEDIUM: probe 0",  # in flight: kept
            "ttsign MEDIUM: probe 4",
            "ttsign MEDIUM: probe 5",
        ]
        assert alerter.describe()["failed"] == 3 and "queue full" in alerter.describe()["last_error"]
        await alerter.close()
        assert alerter.describe()["failed"] == 6  # the three left at shutdown counted too
