"""`ttsign.server.fast_log` (issue 13): the access line written without structlog's dispatch is the line
structlog writes (same keys, order, values, redaction), and structlog writes it whenever the configuration is
not the JSON one `logs.configure` set up (console output, `capture_logs`)."""

from __future__ import annotations

import datetime
import json
import random
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from ttsign.server import logs
from ttsign.server.fast_log import FastLogger, iso_utc

SECRET = "sekrit-api-key-0123456789"
FIELDS = {
    "request_id": "0123456789abcdef0123456789abcdef",
    "method": "POST",
    "route": "/signature",
    "status": 401,
    "latency_ms": 0.218,
    "caller": "ip:127.0.0.1",
    "error": f"bad key {SECRET}",
    "query": "msToken=abcdefabcdefabcdef&x=1",
}


class Out:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.text = ""

    def getvalue(self) -> str:
        self.text += self.capsys.readouterr().out
        return self.text


@pytest.fixture
def stdout(capsys: pytest.CaptureFixture[str]) -> Iterator[Out]:
    logs.configure("info", True)
    token = logs.begin_request([SECRET])
    yield Out(capsys)
    logs.end_request(token)
    logs.configure("warning", True)


def _lines(out: Out) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_the_fast_line_is_the_structlog_line(stdout: Out) -> None:
    fast = FastLogger("ttsign.http")
    fast.info("request", **FIELDS)
    structlog.get_logger("ttsign.http").bind().info("request", **FIELDS)  # bind(): the logger on today's stdout
    ours, theirs = _lines(stdout)
    assert list(ours) == list(theirs)  # the same keys in the same order
    assert ours.pop("timestamp") and theirs.pop("timestamp")
    assert ours == theirs
    assert SECRET not in stdout.getvalue() and "abcdefabcdefabcdef" not in stdout.getvalue()  # redacted
    assert ours["error"] == "bad key ***" and ours["level"] == "info"


def test_levels_filter_as_configured(stdout: Out) -> None:
    logs.configure("warning", True)
    fast = FastLogger("ttsign.http")
    fast.info("request", **FIELDS)
    fast.warning("request", **FIELDS)
    fast.error("unhandled_error", **FIELDS)
    assert [line["level"] for line in _lines(stdout)] == ["warning", "error"]


def test_under_capture_logs_and_console_output_structlog_writes(stdout: Out) -> None:
    fast = FastLogger("ttsign.http")
    with capture_logs() as captured:
        fast.info("request", **FIELDS)
    assert stdout.getvalue() == ""
    assert captured and captured[0]["event"] == "request" and captured[0]["route"] == "/signature"
    logs.configure("info", False)  # the console renderer: not ours to imitate
    assert logs.json_output() is None
    FastLogger("ttsign.http").info("request", **FIELDS)  # a new logger (structlog caches one on first use)
    assert "request" in stdout.getvalue() and not stdout.getvalue().startswith("{")


def test_the_timestamp_reads_as_timestampers() -> None:
    rng = random.Random(7)
    moments = [1796160000.0, 1796160000.5, 1796160000.000001, 1796160000.9999996]
    moments += [1796160000 + rng.random() * 86400 * 400 for _ in range(2000)]
    for t in moments:
        expected = datetime.datetime.fromtimestamp(t, tz=datetime.UTC).isoformat().replace("+00:00", "Z")
        assert iso_utc(t) == expected, t
