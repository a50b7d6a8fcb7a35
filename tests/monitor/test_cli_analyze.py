"""`ttsign analyze baseline|diff` in-process (CliRunner): exit 0 no change, 1 changes found, 2 could not run; the
human report and `--json`; a baseline gathered from the fake TikTok, natively and with the browser provider
running TikTok's npm SDK in Debian's Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.fakes import sdk_site
from tests.fakes.tiktok import FakeTikTok
from tests.providers.sdk_files import SHA256, require_chromium, sdk_file
from ttsign.cli import app
from ttsign.config import get_settings
from ttsign.monitor import baseline as bl

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TTSIGN_MONITOR_BASELINE", raising=False)
    monkeypatch.delenv("TTSIGN_PROVIDERS", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def on_fake(fake: FakeTikTok, monkeypatch: pytest.MonkeyPatch) -> FakeTikTok:
    monkeypatch.setenv("TTSIGN_TIKTOK_WWW", fake.base_url)
    monkeypatch.setenv("TTSIGN_UPSTREAM_TIMEOUT", "3")
    return fake


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["analyze", *args])


def test_diff_of_two_files_no_change_then_each_severity() -> None:
    same = run("diff", "--baseline", str(DATA / "base.json"), "--now", str(DATA / "same.json"))
    assert same.exit_code == 0, same.output
    assert "No change" in same.output
    changed = run("diff", "--baseline", str(DATA / "base.json"), "--now", str(DATA / "all_change.json"))
    assert changed.exit_code == 1
    for head in ("CRITICAL  Token layout", "HIGH      TikTok's SDK build changed", "MEDIUM    Socket facts changed"):
        assert head in changed.output
    assert "Summary: 1 critical, 1 high, 2 medium" in changed.output
    as_json = run("diff", "--baseline", str(DATA / "base.json"), "--now", str(DATA / "sdk_change.json"), "--json")
    assert as_json.exit_code == 1
    out = json.loads(as_json.output)
    assert out["counts"]["high"] == 1 and out["findings"][0]["area"] == "sdk"


def test_could_not_run_is_exit_2_in_one_line(tmp_path: Path) -> None:
    none = run("diff")
    assert none.exit_code == 2 and "no baseline" in none.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "ttsign-baseline", "version": 7}')
    newer = run("diff", "--baseline", str(bad))
    assert newer.exit_code == 2 and "newer than this ttsign reads" in newer.output
    missing = run("diff", "--baseline", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "No such file" in missing.output


def test_baseline_then_diff_against_the_fake(on_fake: FakeTikTok, tmp_path: Path) -> None:
    path = tmp_path / "pinned.json"
    wrote = run("baseline", "--out", str(path))
    assert wrote.exit_code == 0, wrote.output
    assert f"baseline written to {path}: SDK 1.0.0.368, 5.1.3-ZTCA; 3 token kinds" in wrote.output
    pinned = bl.load(path)
    assert pinned.tokens["source"] == "native" and set(pinned.tokens["layouts"]) == set(bl.TOKEN_URLS)
    assert pinned.socket["cookie_names"] and pinned.sdk["signed_paths"] == ["/api/*", "/webcast/*", "/api-live/*"]
    assert run("diff", "--baseline", str(path)).exit_code == 0
    on_fake.configure(page_sdk_script=sdk_site.stand_in_sdk(scm="1.0.0.401"), page_cookies=["odin_tt"])
    changed = run("diff", "--baseline", str(path))
    assert changed.exit_code == 1
    assert "HIGH      TikTok's SDK build changed: 1.0.0.368, 5.1.3-ZTCA -> 1.0.0.401, 5.1.3-ZTCA" in changed.output
    assert "MEDIUM    Socket facts changed: cookie_names" in changed.output
    on_fake.configure(down=503)
    down = run("diff", "--baseline", str(path))
    assert down.exit_code == 2 and "answered HTTP 503" in down.output
    stdout = run("baseline", "--no-tokens")  # no --out, no TTSIGN_MONITOR_BASELINE: stdout
    assert stdout.exit_code == 2 and "no baseline written" in stdout.output


def test_baseline_to_stdout_and_to_the_configured_file(
    on_fake: FakeTikTok, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = run("baseline", "--no-tokens")
    assert printed.exit_code == 0
    data = json.loads(printed.output)
    assert data["format"] == "ttsign-baseline" and data["tokens"] == {}
    monkeypatch.setenv("TTSIGN_MONITOR_BASELINE", str(tmp_path / "env.json"))
    get_settings.cache_clear()
    assert run("baseline", "--no-tokens").exit_code == 0
    assert bl.load(tmp_path / "env.json").scripts[0].versions == ("1.0.0.368", "5.1.3-ZTCA")
    assert run("diff", "--no-tokens").exit_code == 0


def test_the_browser_providers_tokens_and_a_new_sdk_build_is_critical(
    on_fake: FakeTikTok, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_chromium()
    old, new = "webmssdk_1.0.0.368.js", "webmssdk_2.0.0.485.js"
    on_fake.configure(page_sdk_name=old, page_sdk_script=sdk_file(old).read_text())
    monkeypatch.setenv("TTSIGN_PROVIDERS", "browser")
    monkeypatch.setenv("TTSIGN_BROWSER_PAGES", "1")
    monkeypatch.setenv("TTSIGN_BROWSER_SDK", str(sdk_file(old)))
    get_settings.cache_clear()
    path = tmp_path / "pinned.json"
    assert run("baseline", "--out", str(path)).exit_code == 0
    pinned = bl.load(path)
    assert pinned.tokens["source"] == "browser"
    assert pinned.tokens["sdk"][0]["sha256"] == SHA256[old]
    layout = pinned.tokens["layouts"]["api_item_list"]
    assert layout["order"] == ["msToken", "X-Bogus", "X-Gnarly"] and layout["tokens"]["X-Bogus"]["length"] == 28
    assert "canvas" in pinned.fingerprint["tokens"]["X-Bogus"]  # what the SDK read of the browser
    # TikTok ships a new build: the page loads it and the browser provider signs with it
    on_fake.configure(page_sdk_name=new, page_sdk_script=sdk_file(new).read_text())
    monkeypatch.setenv("TTSIGN_BROWSER_SDK", str(sdk_file(new)))
    get_settings.cache_clear()
    diff = run("diff", "--baseline", str(path), "--json")
    assert diff.exit_code == 1, diff.output
    report = json.loads(diff.output)
    assert [f["severity"] for f in report["findings"]] == ["critical", "high"]
    critical = report["findings"][0]
    assert "X-Gnarly.sdk_version: baseline '1.0.0.368', now '2.0.0.485'" in critical["evidence"]["api_item_list"]
    assert report["findings"][1]["evidence"]["sha256"]["now"] == [SHA256[new]]
