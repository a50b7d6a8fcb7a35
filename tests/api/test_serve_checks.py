"""`ttsign serve` start-up checks: every refusal is one line on stderr and exit code 2, no traceback.

An empty bind address (env, `.env` or `--host ''`) would listen on every interface; a bind that is not
loopback needs API keys; a bad setting names the variable, its value and what is allowed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ttsign.config import Settings
from ttsign.server.auth import is_loopback
from ttsign.server.runner import TransportLimits, build_config, parse_trusted_proxies

ROOT = Path(__file__).resolve().parents[2]


def _env(**env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_") and k not in ("HOST", "LOG_LEVEL")}
    return {**clean, "PYTHONPATH": str(ROOT), **env}


def serve(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ttsign.cli", "serve", "--port", "1", *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=20,
    )


def assert_one_line_refusal(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("how", ["env", ".env file", "--host ''", "blank env"])
def test_empty_host_is_an_error(tmp_path: Path, how: str) -> None:
    if how == "env":
        r = serve(cwd=tmp_path, TTSIGN_HOST="")
    elif how == "blank env":
        r = serve(cwd=tmp_path, TTSIGN_HOST="   ")
    elif how == ".env file":
        (tmp_path / ".env").write_text("TTSIGN_HOST=\n")
        r = serve(cwd=tmp_path)
    else:
        r = serve("--host", "", cwd=tmp_path)
    assert_one_line_refusal(r, "bind address is empty")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com", "0", "127.0.0.1.example.com"])
def test_a_public_bind_needs_keys(tmp_path: Path, host: str) -> None:
    assert_one_line_refusal(serve("--host", host, cwd=tmp_path), f"refusing to listen on {host} without API keys")


@pytest.mark.parametrize(
    ("env", "needles"),
    [
        ({"TTSIGN_LOG_LEVEL": "verbose"}, ["TTSIGN_LOG_LEVEL='verbose'", "debug, trace"]),
        ({"LOG_LEVEL": "verbose"}, ["LOG_LEVEL='verbose'", "must be one of"]),  # the origin's name
        ({"TTSIGN_PORT": "abc"}, ["TTSIGN_PORT='abc'", "integer"]),
        ({"TTSIGN_MAX_CONNECTIONS": "0"}, ["TTSIGN_MAX_CONNECTIONS='0'", "greater than or equal to 1"]),
        ({"TTSIGN_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, ["TTSIGN_TRUSTED_PROXIES", "'proxy.local'"]),
    ],
)
def test_a_bad_setting_is_one_line(tmp_path: Path, env: dict[str, str], needles: list[str]) -> None:
    assert_one_line_refusal(serve(cwd=tmp_path, **env), *needles)


def test_a_connection_cap_beyond_the_open_files_limit_is_refused(tmp_path: Path) -> None:
    import resource

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    r = subprocess.run(
        [sys.executable, "-m", "ttsign.cli", "serve", "--port", "1"],
        cwd=tmp_path,
        env=_env(TTSIGN_MAX_CONNECTIONS="1000"),
        capture_output=True,
        text=True,
        timeout=20,
        preexec_fn=low_limit,
    )
    assert_one_line_refusal(r, "TTSIGN_MAX_CONNECTIONS=1000", "256")


def test_trace_log_level_starts(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttsign.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_env(TTSIGN_LOG_LEVEL="trace"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        status = 0
        while status != 200 and proc.poll() is None and time.monotonic() < deadline:
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).status
            except OSError:
                time.sleep(0.1)
        assert status == 200, proc.poll()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    assert "Traceback" not in out and "KeyError" not in out
    lines = [json.loads(line) for line in out.splitlines()]  # every line is JSON, uvicorn's too
    # uvicorn's own trace lines ("HTTP connection made") are on, through our formatter
    assert any(ln["level"] == "trace" and ln.get("logger", "").startswith("uvicorn") for ln in lines), lines[:5]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        (" LOCALHOST ", True),
        ("", False),
        ("  ", False),
        ("0.0.0.0", False),
        ("::", False),
        ("0", False),
        ("10.0.0.1", False),
        ("localhost.example.com", False),
        ("127.0.0.1.nip.io", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_forwarding_headers_are_off_unless_proxies_are_configured() -> None:
    plain = build_config(Settings(), host="127.0.0.1", port=1, workers=1)
    assert plain.proxy_headers is False
    proxied = build_config(Settings(trusted_proxies="10.0.0.1, 172.16.0.0/12"), host="127.0.0.1", port=1, workers=1)
    assert proxied.proxy_headers is True and proxied.forwarded_allow_ips == ["10.0.0.1", "172.16.0.0/12"]
    assert parse_trusted_proxies("") == []
    with pytest.raises(ValueError, match="not an IP address"):
        parse_trusted_proxies("10.0.0.300")


def test_transport_settings_reach_the_server_config() -> None:
    s = Settings(keepalive_timeout_s=2.5, shutdown_timeout_s=4, max_connections=7, header_timeout_s=3)
    config = build_config(s, host="127.0.0.1", port=1, workers=1)
    assert config.timeout_keep_alive == 2.5
    assert config.limits == TransportLimits.from_settings(s)
    assert config.limits.max_connections == 7 and config.limits.header_timeout_s == 3
