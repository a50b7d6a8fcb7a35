"""The same app on two servers, side by side in one run: uvicorn (as `ttsign serve` runs it, with its
transport limits) and granian (Rust HTTP, `--interface asgi`), both one worker, both through
`ttsign.server.runner.serving_app` (the same logging and GC set-up), logs at info written to /dev/null
(the production default: one access line per request).

wrk (32 connections) alternates between the servers in interleaved rounds, so load on the machine hits
both alike; the table gives the median req/s of each endpoint on each server and the granian/uvicorn
ratio. Each server's answer to each endpoint is fetched once first and checked to be the same (status and
JSON keys), so the figures compare like with like. Needs `wrk` and granian (the dev extra).

    .venv/bin/python -m benchmarks.servers        # TTSIGN_BENCH_ROUNDS=3, TTSIGN_BENCH_DURATION=5s
    TTSIGN_BENCH_SERVERS=uvicorn,uvicorn-python   # a subset (the first is the one the ratios divide by)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.load import API, ROOM, _free_port, _lua, _wrk

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("TTSIGN_BENCH_ROUNDS", "3"))
ENV = {
    "TTSIGN_LOG_LEVEL": "info",
    "TTSIGN_LOG_JSON": "true",
    "TTSIGN_RATE_LIMIT_MINUTE": "0",
    "TTSIGN_RATE_LIMIT_HOUR": "0",
    "TTSIGN_RATE_LIMIT_DAY": "0",
}
SERVERS = tuple(os.environ.get("TTSIGN_BENCH_SERVERS", "uvicorn,granian,granian-st,uvicorn-python").split(","))
"""granian-st: a single-threaded runtime on uvloop, HTTP/1 only (the closest to uvicorn's model);
uvicorn-python: uvicorn with `TTSIGN_ACCEL=off` (the pure-Python signing path; the others use the compiled
one when it is built)."""
ENDPOINTS: list[tuple[str, str, str | None]] = [
    ("GET /health (framework ceiling)", "/health", None),
    ("POST /signature (room URL)", "/signature", ROOM),
    ("POST /signature (/api/* URL)", "/signature", API),
]


def _command(server: str, port: int) -> list[str]:
    if server.startswith("uvicorn"):
        return [sys.executable, "-m", "ttsign.cli", "serve", "--port", str(port), "--workers", "1"]
    granian = str(Path(sys.executable).with_name("granian"))
    tuned = ["--runtime-mode", "st", "--loop", "uvloop", "--http", "1"] if server == "granian-st" else []
    return [
        granian,
        "--interface",
        "asgi",
        "--factory",
        "ttsign.server.runner:serving_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
        *tuned,
    ]


def _start(server: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        _command(server, port),
        cwd=ROOT,
        env={**os.environ, **ENV, "TTSIGN_PORT": str(port), **({"TTSIGN_ACCEL": "off"} if "python" in server else {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/readyz", timeout=1)
            return proc, base
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{server} did not start")


def _shape(base: str, path: str, body: str | None) -> tuple[int, list[str]]:
    req = urllib.request.Request(base + path, data=body.encode() if body else None, method="POST" if body else "GET")
    if body:
        req.add_header("Content-Type", "text/plain")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, sorted(json.loads(resp.read()))


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package 'wrk'); `make bench` installs it")
        return 1
    servers = {name: _start(name) for name in SERVERS}
    try:
        for _name, path, body in ENDPOINTS:
            shapes = {s: _shape(base, path, body) for s, (_p, base) in servers.items()}
            if len({json.dumps(v) for v in shapes.values()}) != 1:
                raise SystemExit(f"the servers answer {path} differently: {shapes}")
        rps: dict[tuple[str, str], list[float]] = {}
        for _ in range(ROUNDS):
            for name, path, body in ENDPOINTS:
                script = _lua("POST", body, "text/plain") if body else None
                for server, (_proc, base) in servers.items():
                    rps.setdefault((name, server), []).append(_wrk(base + path, script)["rps"])
        paths = {
            s: json.loads(urllib.request.urlopen(base + "/health").read())["components"]["signer"].get("accel")
            for s, (_p, base) in servers.items()
        }
        print(f"uvicorn vs granian: 1 worker each, wrk 32 connections, {ROUNDS} interleaved rounds, logs at info")
        print("  signing path: " + ", ".join(f"{s} {p}" for s, p in paths.items()))
        print(f"  {'endpoint':<36}" + "".join(f" {s + ' req/s':>18}" for s in SERVERS) + f"   (x {SERVERS[0]})")
        for name, _path, _body in ENDPOINTS:
            med = {s: statistics.median(rps[(name, s)]) for s in SERVERS}
            ratios = " ".join(f"{med[s] / med[SERVERS[0]]:.2f}x" for s in SERVERS[1:])
            print(f"  {name:<36}" + "".join(f" {med[s]:18.0f}" for s in SERVERS) + f"   {ratios}", flush=True)
    finally:
        for proc, _base in servers.values():
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
