"""Micro-benchmarks. Each `bench_*.py` module exposes CASES: list[tuple[str, Callable[[], object]]]."""
