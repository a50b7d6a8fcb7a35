"""HTTP load figures with wrk: one ttsign worker, 32 connections, side by side in one run.

Starts `ttsign serve` (one worker, rate limits off, logs at warning) and the offline TikTok double,
then runs wrk against `/health` (the framework's ceiling), `POST /signature` (a room URL and an
`/api/*` URL), `POST /webcast/sign_url` and `GET /webcast/fetch` (cached ttwid). Prints req/s and
latency percentiles per endpoint. Needs `wrk` (Debian package `wrk`; `make bench` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.fakes.tiktok import FAKE_ROOM_ID, FakeTikTok

DURATION = os.environ.get("TTSIGN_BENCH_DURATION", "10s")
THREADS = int(os.environ.get("TTSIGN_BENCH_THREADS", "1"))
CONNECTIONS = int(os.environ.get("TTSIGN_BENCH_CONNECTIONS", "32"))
ROOT = Path(__file__).resolve().parent.parent
API = (
    "https://www.tiktok.com/api/user/detail/?aid=1988&app_name=tiktok_web&device_id=7576123456789012345"
    "&uniqueId=someone&browser_platform=Win32&os=windows&screen_width=1920&screen_height=1080"
)
ROOM = "https://www.tiktok.com/@someone/live"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lua(method: str, body: str, content_type: str) -> str:
    body_lua = body.replace("\\", "\\\\").replace('"', '\\"')
    return f'wrk.method = "{method}"\nwrk.body = "{body_lua}"\nwrk.headers["Content-Type"] = "{content_type}"\n'


def _wrk(url: str, script: str | None, connections: int = CONNECTIONS) -> dict[str, float]:
    cmd = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{DURATION}", "--latency"]
    path = None
    if script:
        fd, path = tempfile.mkstemp(suffix=".lua")
        os.write(fd, script.encode())
        os.close(fd)
        cmd += ["-s", path]
    out = subprocess.run([*cmd, url], capture_output=True, text=True).stdout
    if path:
        os.unlink(path)
    res: dict[str, float] = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        if m:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            res[f"p{pct}"] = float(m.group(1)) * scale
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["errors"] = float(m.group(1)) if m else 0.0
    return res


def start_server(fake: FakeTikTok) -> tuple[subprocess.Popen[bytes], str]:
    """`ttsign serve` (one worker, limits off, pacing off, logs at warning) against `fake`; waits for /health."""
    port = _free_port()
    env = {
        **os.environ,
        "TTSIGN_PORT": str(port),
        "TTSIGN_LOG_LEVEL": "warning",
        "TTSIGN_RATE_LIMIT_MINUTE": "0",
        "TTSIGN_RATE_LIMIT_HOUR": "0",
        "TTSIGN_RATE_LIMIT_DAY": "0",
        "TTSIGN_TIKTOK_WWW": fake.base_url,
        "TTSIGN_TTWID_URL": fake.ttwid_url,
        "TTSIGN_WEBCAST_URL": fake.webcast_url,
        "TTSIGN_WS_URL": fake.ws_url,
        "TTSIGN_CONNECTS_PER_HOUR": "100000000",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ttsign.cli", "serve", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return server, base


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package 'wrk'); `make bench` installs it")
        return 1
    fake = FakeTikTok().start()
    server, base = start_server(fake)
    try:
        fetch = f"{base}/webcast/fetch?client=ttlive-python&room_id={FAKE_ROOM_ID}&client_enter=true&platform=web"
        urllib.request.urlopen(fetch, timeout=5)  # warm the ttwid cache
        sign_url_body = '{"url": "https://webcast.tiktok.com/webcast/gift/list/?aid=1988", "method": "GET"}'
        runs: list[tuple] = [
            ("GET /health (framework ceiling)", base + "/health", None),
            ("POST /signature (room URL)", base + "/signature", _lua("POST", ROOM, "text/plain")),
            ("POST /signature (/api/* URL, full suffix)", base + "/signature", _lua("POST", API, "text/plain")),
            (
                "POST /webcast/sign_url (gift/list)",
                base + "/webcast/sign_url",
                _lua("POST", sign_url_body, "application/json"),
            ),
            ("GET /webcast/fetch (cached ttwid)", fetch, None),
            ("GET /webcast/fetch (cached ttwid, 1 connection)", fetch, None, 1),
        ]
        print(f"wrk: {THREADS} thread(s), {CONNECTIONS} connections, {DURATION} each; ttsign: 1 worker")
        print(f"  {'endpoint':<44} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
        for name, url, script, *conns in runs:
            r = _wrk(url, script, *conns)
            print(
                f"  {name:<44} {r['rps']:9.0f} {r.get('p50', 0):8.2f} {r.get('p90', 0):8.2f} "
                f"{r.get('p99', 0):8.2f} {int(r['errors']):8d}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(10)
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
