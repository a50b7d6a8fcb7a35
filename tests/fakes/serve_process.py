"""`ttsign serve` as a real process on 127.0.0.1 (for tests of several instances and workers): started with
a clean environment plus the test's `TTSIGN_*` settings, ready once `/readyz` answers 200, stopped with
SIGTERM. TikTok's bases point at a closed local port: these servers never call out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Self

import httpx

from tests.fakes.redis_server import free_port

NOWHERE = "http://127.0.0.1:9"


class ServeProcess:
    def __init__(self, *, workers: int = 1, **settings: str) -> None:
        self.port = free_port()
        self.workers = workers
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_")}
        self.env = {
            **clean,
            "TTSIGN_LOG_LEVEL": "warning",
            "TTSIGN_LOG_JSON": "true",
            "TTSIGN_TIKTOK_WWW": NOWHERE,
            "TTSIGN_TTWID_URL": NOWHERE + "/ttwid",
            "TTSIGN_WEBCAST_URL": NOWHERE + "/webcast",
            **settings,
        }
        self.proc: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        args = [sys.executable, "-m", "ttsign.cli", "serve", "--port", str(self.port), "--workers", str(self.workers)]
        self.proc = subprocess.Popen(
            args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        return self

    def wait_ready(self, timeout: float = 30.0) -> Self:
        """Ready, and every worker answering (each scrape of /metrics names the pid that answered it)."""
        deadline = time.monotonic() + timeout
        pids: set[str] = set()
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"ttsign serve exited {self.proc.returncode}: {self.output()}")
            try:
                with httpx.Client(base_url=self.base_url, timeout=2) as c:
                    if c.get("/readyz").status_code == 200:
                        text = c.get("/metrics", headers={"Connection": "close"}).text
                        pids.add(text.split("this is pid ", 1)[1].split(",", 1)[0])
                        if len(pids) >= self.workers:
                            return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"ttsign serve not ready with {self.workers} workers (saw {pids}): {self.output()}")

    def output(self) -> str:
        if self.proc is None or self.proc.stdout is None or self.proc.poll() is None:
            return ""
        return self.proc.stdout.read()

    def stop(self) -> str:
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        out = self.proc.stdout.read() if self.proc.stdout else ""
        self.proc = None
        return out
