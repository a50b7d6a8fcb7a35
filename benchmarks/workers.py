"""Throughput of 1, 2 and 4 workers with the Redis store (issue 11), side by side in one run, on this machine.

`python -m benchmarks.workers` (part of `make bench`): starts a real redis-server on a free port, then for
each worker count a `ttsign serve --workers N` with `TTSIGN_STORE=redis://...` and an API key (so every
request goes through the shared rate-limit check), and drives `POST /v1/sign` with wrk. One worker on the
memory store is the baseline. Limits are set high enough never to refuse: what is measured is the cost of
the shared check, not refusals. Every answer is checked to be a 200 (wrk's non-2xx count must be 0).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.load import _free_port, _lua, _wrk

KEY = "bench-workers-key-0123456789abcdef"
BODY = json.dumps({"url": "https://www.tiktok.com/api/user/detail/?aid=1988&uniqueId=tiktok"})


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"ttsign exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("ttsign did not become ready in time")


def _run(workers: int, store: str) -> dict[str, float]:
    port = _free_port()
    env = {
        **os.environ,
        "TTSIGN_API_KEYS": KEY,
        "TTSIGN_STORE": store,
        "TTSIGN_RATE_LIMIT_MINUTE": "100000000",
        "TTSIGN_RATE_LIMIT_HOUR": "100000000",
        "TTSIGN_RATE_LIMIT_DAY": "100000000",
        "TTSIGN_STORE_TIMEOUT_MS": "1000",
        "TTSIGN_LOG_LEVEL": "warning",
    }
    cmd = [sys.executable, "-m", "ttsign", "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc)
        script = _lua("POST", BODY, "application/json") + f'wrk.headers["X-Api-Key"] = "{KEY}"\n'
        return _wrk(f"{base}/v1/sign", script)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    if not shutil.which("wrk") or not shutil.which("redis-server"):
        print("workers: wrk and redis-server are needed (make bench installs wrk; make test installs redis-server)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        rport = _free_port()
        redis = subprocess.Popen(
            ["redis-server", "--port", str(rport), "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            url = f"redis://127.0.0.1:{rport}/0"
            rows = [("1 worker, memory store", _run(1, "memory"))]
            rows += [(f"{n} worker{'s' if n > 1 else ''}, Redis store", _run(n, url)) for n in (1, 2, 4)]
        finally:
            redis.terminate()
            redis.wait(10)
    base_rps = rows[0][1]["rps"] or 1.0
    print("== workers (POST /v1/sign with an API key; wrk on the same 2 cores)")
    for name, res in rows:
        print(
            f"  {name:<28} {res['rps']:8.0f} req/s  {res['rps'] / base_rps:5.2f}x  "
            f"p50 {res.get('p50', 0):6.2f} ms  p99 {res.get('p99', 0):7.2f} ms  non-2xx {res['errors']:.0f}"
        )
    return 1 if any(res["errors"] for _, res in rows) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
