"""`ttsign monitor` in-process (CliRunner) against the offline fake: `--once` prints each check and exits 0
when healthy, 1 on a drift (the socket now needs another signing mode) with the event printed, 2 when it
cannot start; `--json` is one machine-readable object per cycle; `--simulate` hands over to
`ttsign.monitor.simulate.run` (one-line error, exit 2, without it)."""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fakes.tiktok import FAKE_USER, FakeTikTok
from ttsign.cli import app
from ttsign.config import get_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, fake: FakeTikTok) -> Iterator[pytest.MonkeyPatch]:
    for name in [k for k in os.environ if k.startswith("TTSIGN_")]:
        monkeypatch.delenv(name)
    for name, value in {
        "TTSIGN_TIKTOK_WWW": fake.base_url,
        "TTSIGN_TTWID_URL": fake.ttwid_url,
        "TTSIGN_WEBCAST_URL": fake.webcast_url,
        "TTSIGN_WS_URL": fake.ws_url,
        "TTSIGN_UPSTREAM_TIMEOUT": "2",
        "TTSIGN_MONITOR_LIVE_USER": FAKE_USER,
        "TTSIGN_LOG_LEVEL": "warning",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT / "tests")  # no .env
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def run(*args: str) -> Any:
    get_settings.cache_clear()
    return CliRunner().invoke(app, ["monitor", *args])


def test_once_healthy(env: pytest.MonkeyPatch) -> None:
    r = run("--once")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("cycle: ok in ")
    assert [ln.split()[0] for ln in lines[1:5]] == ["agreement", "sdk_build", "player", "live_probe"]
    assert "room:ok ttwid:ok socket:ok first_frame:ok" in r.stdout
    assert "no browser provider" in r.stdout  # agreement skipped, and why


def test_once_json(env: pytest.MonkeyPatch) -> None:
    r = run("--once", "--json")
    assert r.exit_code == 0, r.output
    (line,) = r.stdout.splitlines()
    data = json.loads(line)
    assert data["outcome"] == "ok" and data["events"] == []
    by = {c["name"]: c for c in data["checks"]}
    assert by["live_probe"]["outcome"] == "ok" and by["live_probe"]["evidence"]["first_frame"] == "im_enter_room_resp"
    assert all(c["duration_s"] >= 0 for c in data["checks"])


def test_a_drift_exits_1_with_the_event(env: pytest.MonkeyPatch, fake: FakeTikTok) -> None:
    fake.configure(ws_requires="x-gnarly")
    env.setenv("TTSIGN_WS_SIGNER", "x-bogus")
    r = run("--once")
    assert r.exit_code == 1, r.output
    assert r.stdout.startswith("cycle: drift")
    assert "event ws_mode_change [high] ws_mode: TikTok's socket refuses x-bogus (illegal_secret_key)" in r.stdout
    r2 = run("--once", "--json")
    assert r2.exit_code == 1 and json.loads(r2.stdout)["events"][0]["detail"]["works"] == "x-gnarly"


def test_could_not_run_exits_2(env: pytest.MonkeyPatch) -> None:
    env.setenv("TTSIGN_PROVIDERS", "native,nonesuch")
    r = run("--once")
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and "could not start" in r.stderr and "nonesuch" in r.stderr


def test_simulate_without_the_module(env: pytest.MonkeyPatch) -> None:
    env.setitem(sys.modules, "ttsign.monitor.simulate", None)  # as if not installed
    r = run("--simulate", "drift")
    assert r.exit_code == 2 and r.stderr.strip().startswith("error: --simulate is not available")


def test_simulate_hands_over(env: pytest.MonkeyPatch) -> None:
    got: list[Any] = []

    async def fake_run(kind: str, settings: Any) -> int:
        got.append((kind, settings.monitor_live_user))
        return 1

    env.setitem(sys.modules, "ttsign.monitor.simulate", types.SimpleNamespace(run=fake_run))
    r = run("--simulate", "drift")
    assert r.exit_code == 1 and got == [("drift", FAKE_USER)]
