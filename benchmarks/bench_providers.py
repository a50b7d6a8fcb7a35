"""The provider chain's cost on the native path, and each provider's per-call latency, side by side.

Rows (each is one awaited sign of a ~600-byte `/api/*` URL, run `BATCH` at a time inside one coroutine so
the event loop's entry cost is not counted; the figure printed is per sign):

* `native provider, direct`: `NativeProvider.sign`, what the chain wraps;
* `chain, default settings`: `build_chain(Settings())` (native only, breakers on, no cache, no shadow);
* `chain, + stale-if-error cache`: `TTSIGN_CACHE_TTL=60` (every answer stored);
* `chain, + TTSIGN_VERIFY_NATIVE`: native's answers verified too (about twice a native sign: why it is off).

`report()` measures the rows again in interleaved rounds and prints the chain's overhead over a direct
native sign (target: under 5% with default settings). As a machine's load can move a native sign by more
than the chain costs, it also measures the chain's own cost directly: the default chain around an
instant provider (one that hands back a ready answer) minus that provider called directly, and states
it as a share of the fastest native sign.

Other providers, when available (hooks; each skipped with a line saying why otherwise):

* `remote`: a second ttsign served in-process on 127.0.0.1 (uvicorn in a thread), reached through
  `RemoteProvider` (HTTP, `POST /webcast/sign_url`): its latency is the remote's sign plus a local
  round trip;
* `browser`: set `TTSIGN_BENCH_BROWSER_SDK` to an SDK file (e.g. `tiktok-signature@4.3.6`'s, as the
  browser tests fetch it) to sign through `BrowserProvider` in the system's Chromium (pinned mode).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ttsign.config import Settings
from ttsign.providers.base import Provider, SignJob
from ttsign.providers.breaker import BreakerPolicy
from ttsign.providers.chain import ProviderChain
from ttsign.providers.factory import build_chain
from ttsign.providers.native import NativeProvider
from ttsign.signing.policy import parse_url
from ttsign.signing.service import SigningService
from ttsign.signing.signer import Signer, SignerOptions

API = (
    "https://www.tiktok.com/api/post/item_list/?WebIdLastTime=1764000000&aid=1988&app_language=en"
    "&app_name=tiktok_web&browser_language=en-US&browser_name=Mozilla&browser_online=true"
    "&browser_platform=Win32&browser_version=5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36"
    "%20(KHTML,%20like%20Gecko)%20Chrome/156.0.0.0%20Safari/537.36&channel=tiktok_web&cookie_enabled=true"
    "&count=35&coverFormat=2&cursor=0&device_id=7576123456789012345&device_platform=web_pc&focus_state=true"
    "&from_page=user&history_len=3&is_fullscreen=false&is_page_visible=true&language=en&os=windows"
    "&priority_region=&referer=&region=US&screen_height=1080&screen_width=1920"
    "&secUid=MS4wLjABAAAAv7iSuuXDJGDvJkmH_vz1qkDZYo1apxgzaxdBSeIuPiM&tz_name=America/New_York"
    "&webcast_language=en"
)
JOB = SignJob(API, parse_url(API))
BATCH = 50
SLOW_BATCH = 5
"""Signs per call for the providers that go over HTTP or through a browser."""

_LOOP = asyncio.new_event_loop()
_SIGNING = SigningService(Signer(SignerOptions()))


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


class _Signs:
    """`BATCH` awaited signs of `JOB` by `target` per call (`target.sign` is a provider's or a chain's)."""

    def __init__(self, target: Any, batch: int = BATCH) -> None:
        self.sign = target.sign
        self.batch = batch

    async def _many(self) -> None:
        sign, job = self.sign, JOB
        for _ in range(self.batch):
            await sign(job)

    def __call__(self) -> object:
        _LOOP.run_until_complete(self._many())
        return None


class _Instant:
    """A provider that answers at once with a ready result: what is left around it is the chain's own cost."""

    name = "native"

    def __init__(self) -> None:
        self.result = _SIGNING.sign(API)

    async def sign(self, job: SignJob) -> Any:
        return self.result


NATIVE = "native provider, direct"
CHAIN = "chain, default settings"
INSTANT = "instant provider, direct"
INSTANT_CHAIN = "chain (default settings) around the instant provider"
ROWS: list[tuple[str, _Signs]] = [
    (NATIVE, _Signs(NativeProvider(_SIGNING))),
    (CHAIN, _Signs(build_chain(_settings(), _SIGNING))),
    ("chain, + stale-if-error cache (TTL 60 s)", _Signs(build_chain(_settings(cache_ttl_s=60), _SIGNING))),
    ("chain, + TTSIGN_VERIFY_NATIVE", _Signs(build_chain(_settings(verify_native=True), _SIGNING))),
]
_instant = _Instant()
OWN_COST: list[tuple[str, _Signs]] = [
    (INSTANT, _Signs(_instant)),
    (INSTANT_CHAIN, _Signs(ProviderChain([_instant], breaker=BreakerPolicy.from_settings(_settings())))),  # type: ignore[list-item]
]
CASES: list[tuple[str, Callable[[], object]]] = [(f"{name} (x{fn.batch})", fn) for name, fn in ROWS + OWN_COST]
_OTHERS: list[tuple[str, _Signs]] = []
_SKIPPED: list[str] = []


# -- the optional providers -------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_ttsign() -> str:
    """A second ttsign on 127.0.0.1 in a daemon thread (open mode, no limits); its base URL."""
    import uvicorn

    from ttsign.server.app import create_app

    port = _free_port()
    huge = 10**12
    app = create_app(_settings(rate_limit_minute=huge, rate_limit_hour=huge, rate_limit_day=huge, log_level="warning"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    threading.Thread(target=server.run, name="bench-remote-ttsign", daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the second ttsign did not start")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    return _LOOP.run_until_complete(coro)


def _add(name: str, provider: Provider) -> None:
    _run(provider.start())
    _run(provider.sign(JOB))  # warm: connection, page
    _OTHERS.append((name, _Signs(provider, SLOW_BATCH)))


def setup() -> None:
    """Start what the optional rows need; each one that cannot run is skipped with the reason. The second
    ttsign's access lines go to /dev/null (logging as the server configures it, at warning)."""
    import structlog

    from ttsign.server import logs

    logs.configure("warning", True)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(open(os.devnull, "w")))
    try:
        from ttsign.providers.remote import RemoteProvider

        _add("remote provider (second ttsign on 127.0.0.1)", RemoteProvider(_serve_ttsign(), "", _SIGNING.signer))
    except Exception as exc:  # a bench row, not a test: say why and go on
        _SKIPPED.append(f"remote: {type(exc).__name__}: {exc}")
    sdk = os.environ.get("TTSIGN_BENCH_BROWSER_SDK", "")
    if not sdk:
        _SKIPPED.append("browser: set TTSIGN_BENCH_BROWSER_SDK to an SDK file to measure it (system Chromium)")
    else:
        try:
            from ttsign.providers.browser import BrowserProvider

            browser = BrowserProvider.from_settings(_settings(browser_sdk=sdk), _SIGNING.signer)
            _add("browser provider (pinned SDK, Chromium)", browser)
        except Exception as exc:
            _SKIPPED.append(f"browser: {type(exc).__name__}: {exc}")
    CASES.extend((f"{name} (x{fn.batch})", fn) for name, fn in _OTHERS)


def interleaved(
    rows: list[tuple[str, _Signs]],
    rounds: int = 11,
    calls: int = 10,
    pick: Callable[[list[float]], float] = statistics.median,
) -> dict[str, float]:
    """Median (or `pick`) us per sign of every row, in alternating rounds (drift hits all alike)."""
    samples: dict[str, list[float]] = {name: [] for name, _ in rows}
    for _, fn in rows:
        for _ in range(5):
            fn()
    for _ in range(rounds):
        for name, fn in rows:
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            samples[name].append((time.perf_counter() - t0) / (calls * fn.batch) * 1e6)
    return {name: pick(values) for name, values in samples.items()}


def report() -> None:
    medians = interleaved(ROWS)
    base = medians[NATIVE]
    print("  per sign (median of interleaved rounds), and over a direct native sign:")
    for name, us in medians.items():
        extra = "" if name == NATIVE else f"  {us / base:5.3f}x ({us - base:+6.1f} us)"
        print(f"    {name:<48} {us:8.1f} us{extra}")
    overhead = medians[CHAIN] / base - 1
    verdict = "within" if overhead < 0.05 else "OVER"
    print(f"    chain overhead on the native path: {overhead * 100:.1f}% ({verdict} the 5% target)")
    fastest = interleaved(ROWS[:1] + OWN_COST, rounds=15, calls=20, pick=min)
    own = fastest[INSTANT_CHAIN] - fastest[INSTANT]
    share = own / fastest[NATIVE]
    verdict = "within" if share < 0.05 else "OVER"
    print(
        f"    the chain's own cost: {own:.2f} us a call (fastest rounds: {fastest[INSTANT_CHAIN]:.2f} vs"
        f" {fastest[INSTANT]:.2f} us), {share * 100:.1f}% of the fastest native sign"
        f" ({fastest[NATIVE]:.1f} us; {verdict} the 5% target)"
    )
    if _OTHERS:
        for name, us in interleaved(_OTHERS, rounds=5, calls=2).items():
            print(f"    {name:<48} {us:8.1f} us  {us / base:7.1f}x native")
    for reason in _SKIPPED:
        print(f"    (skipped) {reason}")


if __name__ == "__main__":
    setup()
    report()
