"""Soak: minutes of steady load on one ttsign worker, with its RSS sampled, against the offline fake.

`make soak` (not part of `make test`). For each endpoint (`POST /signature` with an `/api/*` URL, and
`GET /webcast/fetch` with identity pacing effectively off, so every request is a connect) it runs wrk
at 32 connections for `TTSIGN_SOAK_SECONDS` (300 by default), samples the server's RSS every
`TTSIGN_SOAK_SAMPLE` seconds (15), and fails (exit 1) on any non-2xx answer, any socket error, or RSS
growth past the bound after the first minute's warm-up (`TTSIGN_SOAK_RSS_BOUND_MB`, 16 MB by default).
All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import psutil

from benchmarks.load import API, _lua, start_server
from tests.fakes.tiktok import FAKE_ROOM_ID, FakeTikTok

SECONDS = int(os.environ.get("TTSIGN_SOAK_SECONDS", "300"))
SAMPLE_S = float(os.environ.get("TTSIGN_SOAK_SAMPLE", "15"))
CONNECTIONS = int(os.environ.get("TTSIGN_SOAK_CONNECTIONS", "32"))
RSS_BOUND_MB = float(os.environ.get("TTSIGN_SOAK_RSS_BOUND_MB", "16"))
WARMUP_S = min(60.0, SECONDS / 5)


@dataclass
class SoakResult:
    name: str
    requests: int = 0
    rps: float = 0.0
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)

    @property
    def growth_mb(self) -> float:
        """RSS growth from the end of warm-up to the largest later sample."""
        after = [mb for t, mb in self.rss_mb if t >= WARMUP_S]
        if len(after) < 2:
            return 0.0
        return max(after) - after[0]

    @property
    def ok(self) -> bool:
        return self.non_2xx == 0 and not any(self.socket_errors.values()) and self.growth_mb <= RSS_BOUND_MB


def _parse_wrk(out: str, res: SoakResult) -> None:
    m = re.search(r"(\d+) requests in", out)
    res.requests = int(m.group(1)) if m else 0
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res.rps = float(m.group(1)) if m else 0.0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res.non_2xx = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res.socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()), strict=True))


def soak(name: str, url: str, script: str | None, proc: psutil.Process) -> SoakResult:
    res = SoakResult(name)
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "5s"]
    path = None
    if script:
        fd, path = tempfile.mkstemp(suffix=".lua")
        os.write(fd, script.encode())
        os.close(fd)
        cmd += ["-s", path]
    start = time.monotonic()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            res.rss_mb.append((round(time.monotonic() - start, 1), proc.memory_info().rss / 2**20))
            done.wait(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out = subprocess.run([*cmd, url], capture_output=True, text=True).stdout
    finally:
        done.set()
        sampler.join()
        if path:
            os.unlink(path)
    res.rss_mb.append((round(time.monotonic() - start, 1), proc.memory_info().rss / 2**20))
    _parse_wrk(out, res)
    return res


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package 'wrk'); `make soak` installs it")
        return 2
    fake = FakeTikTok().start()
    server, base = start_server(fake)
    results: list[SoakResult] = []
    try:
        proc = psutil.Process(server.pid)
        fetch = f"{base}/webcast/fetch?client=ttlive-python&room_id={FAKE_ROOM_ID}&client_enter=true&platform=web"
        urllib.request.urlopen(fetch, timeout=5)  # warm the ttwid cache
        runs = [
            ("POST /signature (/api/* URL)", base + "/signature", _lua("POST", API, "text/plain")),
            ("GET /webcast/fetch (every request a connect)", fetch, None),
        ]
        print(f"soak: {CONNECTIONS} connections, {SECONDS} s per endpoint, RSS every {SAMPLE_S:g} s; 1 worker")
        for name, url, script in runs:
            r = soak(name, url, script, proc)
            results.append(r)
            trace = " ".join(f"{mb:.1f}" for _, mb in r.rss_mb)
            print(
                f"  {name}: {r.requests} requests, {r.rps:.0f} req/s, non-2xx {r.non_2xx}, "
                f"socket errors {r.socket_errors}, RSS growth after {WARMUP_S:g} s warm-up {r.growth_mb:+.2f} MB "
                f"(bound {RSS_BOUND_MB:g} MB) -> {'ok' if r.ok else 'FAIL'}",
                flush=True,
            )
            print(f"    RSS MB: {trace}", flush=True)
    finally:
        server.terminate()
        server.wait(15)
        fake.stop()
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
