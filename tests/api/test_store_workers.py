"""`ttsign serve --workers N` over the memory store: refused in one line naming TTSIGN_STORE=redis:// while
any limit is on (each worker would keep its own: N x the limit); started, with one warning line saying the
state is per worker, when every limit is off; never a question with a Redis store. The starting line never
shows the store's password."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.fakes.serve_process import ServeProcess
from ttsign.config import Settings
from ttsign.server.runner import check_workers, startup_summary

OFF = {"rate_limit_minute": 0, "rate_limit_hour": 0, "rate_limit_day": 0, "auth_failures_per_minute": 0}


def _serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_")}
    return subprocess.run(
        [sys.executable, "-m", "ttsign.cli", "serve", "--port", "1", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_several_workers_over_the_memory_store_are_refused_in_one_line() -> None:
    r = _serve("--workers", "2")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --workers 2 with TTSIGN_STORE=memory")
    assert "TTSIGN_STORE=redis://" in lines[0]
    r = _serve(TTSIGN_WORKERS="3")  # the setting, not only the flag
    assert r.returncode == 2 and "--workers 3" in r.stderr


@pytest.mark.parametrize(
    "settings, refused",
    [
        ({}, True),
        (OFF, False),
        ({**OFF, "rate_limit_hour": 10}, True),
        ({**OFF, "auth_failures_per_minute": 5}, False),  # no keys: nothing to throttle
        ({**OFF, "auth_failures_per_minute": 5, "api_keys": "k-0123456789abcdef"}, True),
        ({"store": "redis://127.0.0.1:1/0"}, False),
    ],
)
def test_which_settings_may_run_several_workers(settings: dict[str, object], refused: bool) -> None:
    s = Settings(**settings)  # type: ignore[arg-type]
    assert check_workers(s, 1) is None  # one worker: nothing to say
    if refused:
        with pytest.raises(ValueError, match="TTSIGN_STORE=redis://"):
            check_workers(s, 2)
    else:
        note = check_workers(s, 2)
        assert note is None if s.store != "memory" else "per worker" in str(note)


def test_limits_off_starts_and_says_state_is_per_worker() -> None:
    server = ServeProcess(
        workers=2,
        TTSIGN_LOG_LEVEL="info",
        TTSIGN_RATE_LIMIT_MINUTE="0",
        TTSIGN_RATE_LIMIT_HOUR="0",
        TTSIGN_RATE_LIMIT_DAY="0",
        TTSIGN_AUTH_FAILURES_PER_MINUTE="0",
    ).start()
    try:
        server.wait_ready()
    finally:
        out = server.stop()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    warned = [line for line in lines if line.get("event") == "per_worker_state"]
    assert len(warned) == 1 and "per worker" in warned[0]["detail"] and warned[0]["level"] == "warning"


def test_the_starting_line_never_shows_the_store_password() -> None:
    s = Settings(store="redis://user:s3cret-pass@redis.internal:6379/0")
    assert startup_summary(s, host="127.0.0.1", port=1, workers=1)["store"] == "redis://redis.internal:6379/0"
    s = Settings(store="unix:///run/redis.sock?db=0&password=s3cret-pass")
    assert "s3cret" not in startup_summary(s, host="127.0.0.1", port=1, workers=1)["store"]
