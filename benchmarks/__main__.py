"""`make bench`: run every benchmark module's CASES side by side and print median time per call."""

from __future__ import annotations

import importlib
import pkgutil
import statistics
import sys
import time
from collections.abc import Callable

import benchmarks


def measure(fn: Callable[[], object], *, target_s: float = 0.2, repeats: int = 7) -> float:
    """Median seconds per call over `repeats` rounds, each calibrated to run about `target_s`."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= target_s / 10 or n >= 1 << 20:
            break
        n *= 2
    per_round = max(1, int(n * (target_s / 10) / max(dt, 1e-9)))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn()
        samples.append((time.perf_counter() - t0) / per_round)
    return statistics.median(samples)


def main(argv: list[str]) -> int:
    only = argv[1:]
    for mod in pkgutil.iter_modules(benchmarks.__path__):
        if not mod.name.startswith("bench_") or (only and mod.name not in only):
            continue
        module = importlib.import_module(f"benchmarks.{mod.name}")
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup()
        print(f"== {mod.name}")
        for name, fn in module.CASES:
            print(f"  {name:<48} {measure(fn) * 1e6:10.1f} us/call", flush=True)
        report = getattr(module, "report", None)
        if report is not None:
            report()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
