"""`ttsign serve` with TTSIGN_PROVIDERS=native,browser (a pinned npm SDK): the browser signs through the
server (`POST /v1/sign {"provider": "browser"}`, `GET /v1/providers` shows its SDK), and after SIGTERM no
Chromium process the server started is left running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.providers.sdk_files import SHA256, chromium_processes, require_chromium, sdk_file, still_running

SDK = "webmssdk_1.0.0.368.js"
URL = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=35&cursor=0&device_id=7368712345678901234"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _browser_row(base: str) -> dict[str, object] | None:
    try:
        rows = httpx.get(f"{base}/v1/providers", timeout=2).json()["providers"]
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    row = next((r for r in rows if r.get("name") == "browser"), None)
    return row if row and row.get("pages") == 2 else None


def test_serve_signs_with_the_browser_and_sigterm_leaves_no_chromium(tmp_path: Path) -> None:
    executable = require_chromium()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_")}
    env.update(
        TTSIGN_PROVIDERS="native,browser",
        TTSIGN_BROWSER_EXECUTABLE=executable,
        TTSIGN_BROWSER_SDK=str(sdk_file(SDK)),
        TTSIGN_BROWSER_PAGE_URL="https://www.tiktok.com/@tiktok/live",
        TTSIGN_BROWSER_PAGES="2",
        TTSIGN_LOG_LEVEL="warning",
    )
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttsign", "serve", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    try:
        deadline = time.monotonic() + 40
        row = None
        while row is None:
            assert proc.poll() is None, Path(log.name).read_text()
            assert time.monotonic() < deadline, Path(log.name).read_text()
            time.sleep(0.2)
            row = _browser_row(base)
        assert row["mode"] == "pinned"
        assert row["sdk"] == [
            {"url": str(sdk_file(SDK)), "sha256": SHA256[SDK], "versions": ["1.0.0.368", "5.1.3-ZTCA"]}
        ]
        answer = httpx.post(f"{base}/v1/sign", json={"url": URL, "provider": "browser"}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-ttsign-provider"] == "browser"
        data = answer.json()["data"]
        assert data["provider"] == "browser"
        assert data["signed_url"].startswith(URL + "&msToken=") and "&X-Bogus=" in data["signed_url"]
        assert data["user_agent"] == row["user_agent"]
        seen = chromium_processes(proc.pid)
        assert len(seen) >= 3  # the browser, its helpers, two pages' renderers
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert still_running(seen) == [], Path(log.name).read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
