"""The fuzz target, bounded: a few seconds of random and malformed arguments to every compiled function."""

from __future__ import annotations

import time
from types import ModuleType, SimpleNamespace
from typing import Any

from tests.accel import fuzz_accel


def test_fuzzing_the_compiled_module_finds_nothing(compiled: ModuleType) -> None:
    seed = int(time.time())
    stats = fuzz_accel.run(compiled, seconds=3.0, seed=seed)
    assert not stats.findings, f"seed {seed}: " + "\n".join(stats.findings)
    assert stats.returned > 1000 and stats.refused > 1000 and stats.compared > 1000, stats


class _Panic(BaseException):
    """What a Rust panic becomes in Python (pyo3_runtime.PanicException derives from BaseException)."""


def test_the_harness_reports_a_panic_and_a_wrong_answer(compiled: ModuleType) -> None:
    """The harness can fail: a module that panics on one function and answers wrongly on another is caught."""

    def panics(*_: Any) -> Any:
        raise _Panic("index out of bounds")

    broken = SimpleNamespace(**{n: getattr(compiled, n) for n in dir(compiled) if not n.startswith("__")})
    broken.hash_state = lambda d: compiled.hash_state(d) ^ 1
    broken.xbogus = panics
    stats = fuzz_accel.run(broken, seconds=0.5, seed=1)  # type: ignore[arg-type]
    text = "\n".join(stats.findings)
    assert "hash_state" in text and "!= reference" in text
    assert "xbogus" in text and "_Panic" in text
