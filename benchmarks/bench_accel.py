"""The compiled fast path against the pure-Python path and the public JavaScript encoder, side by side in one run.

* Full `/api/*` suffix (X-Dynosaur, msToken, X-Bogus=1, X-Gnarly 5.3.2) through `Signer.sign` from the URL
  text, compiled vs pure Python; both signers are first run seeded (same seed, same clocks) and their answers
  checked equal field by field, then the production signers (SystemRandom) are timed.
* X-Gnarly 5.1.3: the compiled encoder vs `xgnarly.mjs` (npm `tiktok-signature@4.3.6`) under Node, the same
  key and inputs on both sides, tokens compared before any ratio (the JS side is `bench_reference`'s, timed in
  CPU time here too), with the pure-Python encoder in the same table.
* Cost growth: a full sign at 100 B, 600 B, 2 KB and 8 KB queries, and POST bodies of 1, 8 and 64 KiB.

Times are CPU time (`time.thread_time`) medians per call, so other load on the machine counts less.
Run alone with `.venv/bin/python -m benchmarks.bench_accel`; `make bench` runs it with the other modules.
"""

from __future__ import annotations

import itertools
import random
import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any

from benchmarks import bench_reference
from benchmarks.bench_signer import API, UA
from ttsign.algorithms import gnarly
from ttsign.algorithms.payloads import gnarly513
from ttsign.signing import accel
from ttsign.signing.signer import Signer, SignerOptions

CASES: list[tuple[str, Callable[[], object]]] = []  # everything is in report(): its rows pair the two paths


def cpu_median(fn: Callable[[], object], *, target_s: float = 0.15, repeats: int = 7) -> float:
    """Median CPU seconds per call over `repeats` rounds, each calibrated to about `target_s / repeats`."""
    fn()
    n = 1
    while True:
        t0 = time.thread_time()
        for _ in range(n):
            fn()
        dt = time.thread_time() - t0
        if dt >= 0.01 or n >= 1 << 20:
            break
        n *= 2
    per_round = max(1, int(n * (target_s / repeats) / max(dt, 1e-9)))
    samples = []
    for _ in range(repeats):
        t0 = time.thread_time()
        for _ in range(per_round):
            fn()
        samples.append((time.thread_time() - t0) / per_round)
    return statistics.median(samples)


def _seeded(mode: str) -> Signer:
    ticks = itertools.count()
    return Signer(
        SignerOptions(accel=mode), clock=lambda: 1764000000.5, mono_clock=lambda: 50.0 + next(ticks) * 1e-3,
        rng=random.Random(7),
    )  # fmt: skip


def _same_answers(url: str, method: str, body: bytes) -> bool:
    a, b = _seeded("off"), _seeded("on")
    return all(a.sign(url, method, body, UA, None) == b.sign(url, method, body, UA, None) for _ in range(3))


def _query_of(size: int) -> str:
    """`API` cut or padded (with `&pN=value` params) to a query of about `size` bytes."""
    base, query = API.split("?", 1)
    parts = query.split("&")
    out: list[str] = []
    for part in itertools.chain(parts, (f"p{i}=v{i:06d}" for i in itertools.count())):
        if len("&".join([*out, part])) > size:
            break
        out.append(part)
    return f"{base}?{'&'.join(out)}"


def rows_sign() -> list[dict[str, Any]]:
    """Full-suffix rows: label, pure us, compiled us, ratio, outputs equal."""
    fast, pure = Signer(SignerOptions(accel="on")), Signer(SignerOptions(accel="off"))
    cases: list[tuple[str, str, str, bytes]] = [("/api/* GET, 600 B query (the issue's case)", API, "GET", b"")]
    for size in (100, 600, 2048, 8192):
        cases.append((f"/api/* GET, {size} B query", _query_of(size), "GET", b""))
    for size in (1024, 8192, 65536):
        cases.append(
            (f"/api/* POST, 600 B query, {size // 1024} KiB body", API, "POST", bytes(range(256)) * (size // 256))
        )
    rows = []
    for label, url, method, body in cases:
        equal = _same_answers(url, method, body)
        accel._process = None  # the pure side parses URLs in pure Python too
        t_pure = cpu_median(lambda url=url, method=method, body=body: pure.sign(url, method, body, UA, None))
        accel._process = accel.select("on")
        t_fast = cpu_median(lambda url=url, method=method, body=body: fast.sign(url, method, body, UA, None))
        rows.append({"case": label, "pure_us": t_pure * 1e6, "compiled_us": t_fast * 1e6, "equal": equal})
    return rows


def _compiled_513(key: bytes) -> str:
    m = accel.load()
    assert m is not None
    return str(
        m.gnarly_513(
            bench_reference.QUERY, "", UA, bench_reference.TIMESTAMP_MS, bench_reference.RANDOM_LOW16,
            bench_reference.RANDOM32, key, 0, 0, 4, 65, gnarly513.SDK_VERSION, gnarly513.PAYLOAD_VERSION, None,
        )
    )  # fmt: skip


def rows_513() -> list[dict[str, Any]]:
    """X-Gnarly 5.1.3 rows, one per key (5/9/13/17 ChaCha rounds): compiled, JS reference, pure Python."""
    have_js = bench_reference._ensure_reference()
    rows = []
    for key in bench_reference.KEYS:
        ref = bench_reference.run_reference((key,), 20000, cpu=True)[0] if have_js else None
        ours = _compiled_513(key)
        row: dict[str, Any] = {
            "rounds": gnarly.rounds_for(key),
            "compiled_us": cpu_median(lambda key=key: _compiled_513(key)) * 1e6,
            "pure_us": cpu_median(lambda key=key: bench_reference.ours(key)) * 1e6,
            "equal_pure": ours == bench_reference.ours(key),
            "js_us": float(str(ref["median_us"])) if ref else None,
            "equal_js": ref is not None and ours == ref["token"],
        }
        rows.append(row)
    return rows


def _node() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        return "not installed"


def report() -> None:
    if accel.load() is None:
        print(f"  compiled fast path not built ({accel.why_unavailable()}): run `make accel`; nothing to compare")
        return
    saved = accel._process
    try:
        print("  full /api/* suffix through Signer.sign(url text), CPU us per call (median)")
        print("  | case | pure Python | compiled | speed-up | same output |")
        print("  |---|---:|---:|---:|---|")
        for r in rows_sign():
            print(
                f"  | {r['case']} | {r['pure_us']:.1f} | {r['compiled_us']:.1f} | "
                f"{r['pure_us'] / r['compiled_us']:.1f}x | {'yes' if r['equal'] else 'NO'} |"
            )
        print(f"  X-Gnarly 5.1.3, same key and inputs; JS = xgnarly.mjs (tiktok-signature@4.3.6) under Node {_node()}")
        print("  | ChaCha rounds | compiled | xgnarly.mjs | JS / compiled | pure Python | same token as JS |")
        print("  |---:|---:|---:|---:|---:|---|")
        for r in rows_513():
            js = f"{r['js_us']:.1f}" if r["js_us"] is not None else "n/a"
            ratio = f"{r['js_us'] / r['compiled_us']:.1f}x" if r["js_us"] is not None and r["equal_js"] else "n/a"
            same = "yes" if r["equal_js"] else ("NO" if r["js_us"] is not None else "n/a (no node)")
            print(f"  | {r['rounds']} | {r['compiled_us']:.1f} | {js} | {ratio} | {r['pure_us']:.1f} | {same} |")
    finally:
        accel._process = saved


if __name__ == "__main__":
    report()
