"""examples/watch_chat.py against the offline fake through a real ttsign: chat arrives, Ctrl-C ends it cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fakes.tiktok import WS_PATH, FakeTikTok

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_watch_chat_prints_chat_and_stops_cleanly_on_ctrl_c() -> None:
    with FakeTikTok() as fake:
        port = _free_port()
        server_env = {
            **os.environ,
            "TTSIGN_PORT": str(port),
            "TTSIGN_LOG_LEVEL": "warning",
            "TTSIGN_TIKTOK_WWW": fake.base_url,
            "TTSIGN_TTWID_URL": fake.ttwid_url,
            "TTSIGN_WEBCAST_URL": fake.webcast_url,
            "TTSIGN_WS_URL": f"ws://127.0.0.1:{fake.port}{WS_PATH}",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "ttsign", "serve"],
            cwd=ROOT,
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            env = {
                **os.environ,
                "SIGN_API_URL": f"http://127.0.0.1:{port}",
                "TIKTOK_APP_URL": fake.base_url,
                "TIKTOK_WEBCAST_URL": fake.webcast_url,
            }
            example = subprocess.Popen(
                [sys.executable, str(ROOT / "examples" / "watch_chat.py"), "fakeuser"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            lines: list[str] = []
            assert example.stdout is not None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(": hello from the fake" in ln for ln in lines):
                line = example.stdout.readline()
                if not line:
                    break
                lines.append(line)
            example.send_signal(signal.SIGINT)  # what Ctrl-C sends
            _, err = example.communicate(timeout=20)
        finally:
            server.terminate()
            server.wait(15)
    assert any(ln.startswith("connected to @fakeuser") for ln in lines), lines
    assert any(": hello from the fake" in ln for ln in lines), lines
    assert example.returncode == 0, (example.returncode, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
