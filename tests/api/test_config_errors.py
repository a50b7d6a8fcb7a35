"""A bad setting stops every command before anything starts: one line on stderr naming the variable, its
value and what is allowed; exit code 2; no traceback.

Each bad value runs in a real `python -m ttsign` process; every (value, command) pair runs in-process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BAD = {
    "TTSIGN_PORT=abc": ["TTSIGN_PORT='abc'", "integer"],
    "PORT=abc": ["PORT='abc'", "integer"],  # the origin's name
    "TTSIGN_WORKERS=0": ["TTSIGN_WORKERS='0'", "greater than or equal to 1"],
    "TTSIGN_CONNECT_STRATEGY=fast": ["TTSIGN_CONNECT_STRATEGY='fast'", "'auto', 'direct' or 'relay'"],
    "TTSIGN_GNARLY_VERSION=9": ["TTSIGN_GNARLY_VERSION='9'", "'5.3.2' or '5.1.3'"],
    "TTSIGN_LOG_JSON=maybe": ["TTSIGN_LOG_JSON='maybe'", "true or false"],
    "TTSIGN_RATE_LIMIT_MINUTE=-1": ["TTSIGN_RATE_LIMIT_MINUTE='-1'", "greater than or equal to 0"],
    "TTSIGN_LOG_LEVEL=verbose": ["TTSIGN_LOG_LEVEL='verbose'", "critical, error, warning, info, debug, trace"],
    "LOG_LEVEL=verbose": ["LOG_LEVEL='verbose'", "must be one of"],
    "TTSIGN_BROWSER_PRESET=netscape": ["TTSIGN_BROWSER_PRESET='netscape'", "chrome-win", "firefox-win"],
    "TTSIGN_PROXY=notaurl": ["TTSIGN_PROXY='notaurl'", "http, https, socks5, socks5h"],
    "TTSIGN_PROXY=ftp://proxy:21": ["TTSIGN_PROXY='ftp://proxy:21'", "scheme://host[:port]"],
    "TTSIGN_PROXY=http://:3128": ["TTSIGN_PROXY='http://:3128'", "with scheme http"],
    "TTSIGN_PROXY=http://proxy:99999": ["TTSIGN_PROXY='http://proxy:99999'", "port must be a number"],
}
COMMANDS = {
    "serve": ["serve", "--port", "1"],  # --port does not hide a bad TTSIGN_PORT
    "sign": ["sign", "https://www.tiktok.com/api/post/item_list/?aid=1988"],
    "decode": ["decode", "DFSzswVOx5bANHVYtBwwUT9WcBnV"],
    "room": ["room", "someone"],
    "check": ["check", "someone", "--timeout", "1"],
    "vectors check": ["vectors", "check"],
}


def _env(setting: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_") and k not in ("HOST", "PORT")}
    clean.pop("LOG_LEVEL", None)
    name, _, value = setting.partition("=")
    # Upstream bases point at a closed port: a command that wrongly got past the check fails fast, offline.
    dead = "http://127.0.0.1:9"
    return {
        **clean,
        "PYTHONPATH": str(ROOT),
        "TTSIGN_TIKTOK_WWW": dead,
        "TTSIGN_TTWID_URL": dead + "/ttwid/",
        "TTSIGN_WEBCAST_URL": dead + "/webcast",
        "TTSIGN_UPSTREAM_TIMEOUT": "1",
        name: value,
    }


def _assert_one_line(code: int, stdout: str, stderr: str, setting: str) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, (code, stderr[-600:])
    assert len(lines) == 1 and lines[0].startswith("error: invalid setting "), stderr[-600:]
    assert "Traceback" not in stdout + stderr and stdout == ""
    for needle in BAD[setting]:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    """Each bad value in a real `python -m ttsign` process (the commands taken in turn), four at a time."""
    cwd = tmp_path_factory.mktemp("cfg")  # no .env here
    commands = list(COMMANDS.values())
    out: dict[str, tuple[int, str, str]] = {}
    settings = list(BAD)
    for start in range(0, len(settings), 4):
        batch = {
            setting: subprocess.Popen(
                [sys.executable, "-m", "ttsign", *commands[(start + i) % len(commands)]],
                cwd=cwd,
                env=_env(setting),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i, setting in enumerate(settings[start : start + 4])
        }
        for setting, proc in batch.items():
            try:
                stdout, stderr = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
            out[setting] = (proc.returncode, stdout, stderr)
    return out


@pytest.mark.parametrize("setting", list(BAD))
def test_a_bad_setting_stops_the_process_in_one_line(processes: dict[str, tuple[int, str, str]], setting: str) -> None:
    _assert_one_line(*processes[setting], setting)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("setting", list(BAD))
def test_every_command_checks_every_setting(monkeypatch: pytest.MonkeyPatch, setting: str, command: str) -> None:
    """The same check in-process (CliRunner) for every command: one mechanism, no command left out."""
    from typer.testing import CliRunner

    from ttsign.cli import app
    from ttsign.config import get_settings

    for name, value in _env(setting).items():
        if name.startswith("TTSIGN_") or name in ("PORT", "LOG_LEVEL"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT / "tests")  # no .env here either
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, COMMANDS[command])
    finally:
        get_settings.cache_clear()
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    _assert_one_line(r.exit_code, r.stdout, r.stderr, setting)


def test_a_proxy_password_is_not_echoed() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "ttsign", "sign", "https://www.tiktok.com/api/x"],
        env=_env("TTSIGN_PROXY=ftp://user:hunter2secret@proxy:21"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2 and "TTSIGN_PROXY='ftp://***@proxy:21'" in r.stderr
    assert "hunter2secret" not in r.stderr


@pytest.mark.parametrize(
    "proxy", ["", "http://proxy.local:3128", "https://10.0.0.1", "socks5://127.0.0.1:1080", "socks5h://u:p@h:1"]
)
def test_good_proxies_are_accepted(proxy: str) -> None:
    from ttsign.config import Settings

    assert Settings(proxy=proxy).proxy == proxy


def test_make_store_raises_a_value_error_not_system_exit() -> None:
    from ttsign.config import Settings
    from ttsign.server.app import StoreError, create_app, make_store

    for store in ("mongodb://x", "redis://localhost:notaport/0"):  # unknown, and a Redis URL that cannot be used
        with pytest.raises(StoreError, match="TTSIGN_STORE"):
            make_store(Settings(store=store))
        with pytest.raises(ValueError, match="TTSIGN_STORE"):
            create_app(Settings(store=store))
