"""Per-request cost of the middleware, side by side: the pipeline of small middlewares vs. the single
`RequestGuard` it replaced, each on the same trivial app, minus that app without any middleware.

The app has one route, `POST /signature`, that reads its body and answers a small JSON: what is left is
the middleware's own work (headers, request id, redaction set-up, size check and bounded body read, auth,
rate limit, metrics, the access log call). Each request is one ASGI call on one event loop, with the same
scope (a typical client's seven headers, plus `X-Api-Key` when keyed). Rate limits are set high enough
never to refuse. Access lines are at info, below the `warning` level configured here (the level the tests
use), so the figures leave out rendering the line, the same for both; `TTSIGN_BENCH_LOG=info` renders
every line to /dev/null instead.

The old middleware is `ttsign/server/middleware.py` as of commit `BEFORE`, read with `git show` at bench
time (never copied into the tree); without git its rows are skipped. `report()` measures all the stacks
again in interleaved rounds and prints each one's overhead over the bare app and the after/before ratio.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from ttsign.api_keys import ApiKeys
from ttsign.config import Settings
from ttsign.server import logs
from ttsign.server.middleware import install_pipeline, make_limiter
from ttsign.store.memory import MemoryRateStore

BEFORE = "9fb5ddb6a995ef3767820dd4402567b760bbe28b"  # the last commit of the single RequestGuard
ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key-0123456789abcdef"
BODY = b"https://www.tiktok.com/@someone/live"
HUGE = 10**12  # limits that never refuse
HEADERS = [
    (b"host", b"127.0.0.1:8080"),
    (b"user-agent", b"python-httpx/0.28.1"),
    (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate"),
    (b"connection", b"keep-alive"),
    (b"content-type", b"text/plain"),
    (b"content-length", str(len(BODY)).encode()),
]

_LEVEL = os.environ.get("TTSIGN_BENCH_LOG", "warning")
_LOOP = asyncio.new_event_loop()


def setup() -> None:
    """Logging as the server configures it, at `_LEVEL`, with every rendered line going to /dev/null."""
    logs.configure(_LEVEL, True)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(open(os.devnull, "w")))


def _settings(keyed: bool, **kw: Any) -> Settings:
    return Settings(
        api_keys=KEY if keyed else "",
        rate_limit_minute=HUGE,
        rate_limit_hour=HUGE,
        rate_limit_day=HUGE,
        log_level=_LEVEL,
        log_json=True,
        **kw,
    )


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/signature")
    async def signature(request: Request) -> Response:
        await request.body()
        return Response(b'{"status":"ok"}', media_type="application/json")

    return app


def after_app(keyed: bool, **kw: Any) -> FastAPI:
    app, settings = bare_app(), _settings(keyed, **kw)
    keys = ApiKeys(frozenset({KEY}) if keyed else frozenset())
    limiter = make_limiter(settings, keys, MemoryRateStore())
    install_pipeline(
        app,
        settings,
        keys=keys.keys,
        limiter=limiter,
        logger=logs.get_logger("ttsign.http"),
        routes=list(app.router.routes),
    )
    return app


def _old_module() -> types.ModuleType | None:
    """`ttsign/server/middleware.py` at BEFORE, as a module (None without git or that commit)."""
    try:
        source = subprocess.run(
            ["git", "show", f"{BEFORE}:ttsign/server/middleware.py"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    module = types.ModuleType("benchmarks._request_guard_before")
    sys.modules[module.__name__] = module
    exec(compile(source, f"{BEFORE[:7]}:ttsign/server/middleware.py", "exec"), module.__dict__)
    return module


def before_app(old: types.ModuleType, keyed: bool) -> FastAPI:
    from ttsign.server.limits import RateLimiter

    app, settings = bare_app(), _settings(keyed)
    limits = {"rate_limit_minute": HUGE, "rate_limit_hour": HUGE, "rate_limit_day": HUGE}
    app.add_middleware(
        old.RequestGuard,
        api_keys=frozenset({KEY}) if keyed else frozenset(),
        limiter=RateLimiter(MemoryRateStore(), limits),
        max_request_bytes=settings.max_url_bytes + settings.max_body_bytes + 8192,
        body_timeout_s=settings.body_timeout_s,
        auth_failures_per_minute=settings.auth_failures_per_minute,
        logger=logs.get_logger("ttsign.http"),
        routes=list(app.router.routes),
    )
    return app


def _scope(keyed: bool) -> dict[str, Any]:
    headers = [*HEADERS, (b"x-api-key", KEY.encode())] if keyed else HEADERS
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/signature",
        "raw_path": b"/signature",
        "root_path": "",
        "query_string": b"",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


def _runner(app: Any, keyed: bool) -> Callable[[], object]:
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def one() -> None:
        await app(_scope(keyed), _receive, send)

    def run() -> object:
        statuses.clear()
        _LOOP.run_until_complete(one())
        assert statuses == [200], statuses
        return None

    return run


_OLD = _old_module()
BARE = "bare app, no middleware"
OLD_OPEN, OLD_KEYED = "before: RequestGuard, open mode (per-IP limit)", "before: RequestGuard, keyed"
NEW_OPEN_LIMITED = "after: pipeline, open mode (per-IP limit, as before)"
NEW_OPEN, NEW_KEYED = "after: pipeline, open mode (signing unlimited)", "after: pipeline, keyed"
STACKS: list[tuple[str, Callable[[], object]]] = [(BARE, _runner(bare_app(), False))]
if _OLD is not None:
    STACKS += [(OLD_OPEN, _runner(before_app(_OLD, False), False)), (OLD_KEYED, _runner(before_app(_OLD, True), True))]
STACKS += [
    (NEW_OPEN_LIMITED, _runner(after_app(False, open_rate_limit=True), False)),
    (NEW_OPEN, _runner(after_app(False), False)),
    (NEW_KEYED, _runner(after_app(True), True)),
]
CASES = STACKS


def interleaved(rounds: int = 11, per_round: int = 1500) -> dict[str, float]:
    """Median us per request of every stack, measured in alternating rounds (drift hits all alike)."""
    samples: dict[str, list[float]] = {name: [] for name, _ in STACKS}
    for _, fn in STACKS:
        for _ in range(200):
            fn()
    for _ in range(rounds):
        for name, fn in STACKS:
            t0 = time.perf_counter()
            for _ in range(per_round):
                fn()
            samples[name].append((time.perf_counter() - t0) / per_round * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def report() -> None:
    medians = interleaved()
    print(f"  middleware cost per request (median, interleaved rounds; log level {_LEVEL}):")
    overhead = {name: us - medians[BARE] for name, us in medians.items() if name != BARE}
    for name, us in overhead.items():
        print(f"    {name:<54} {us:7.1f} us")
    if _OLD is None:
        print(f"    (the RequestGuard rows need git and commit {BEFORE[:7]})")
        return
    pairs = [
        ("open mode, like for like", OLD_OPEN, NEW_OPEN_LIMITED),
        ("open mode, new default", OLD_OPEN, NEW_OPEN),
        ("keyed", OLD_KEYED, NEW_KEYED),
    ]
    for label, before, after in pairs:
        print(f"    after/before, {label:<26} {overhead[after] / overhead[before]:5.2f}x")


if __name__ == "__main__":
    setup()
    report()
