"""The compiled fast path's tests: both paths must give the same bytes.

Without the compiled module these tests FAIL and say how to build it (`make test` always builds it first),
except on a machine without `cargo`, where they are skipped saying so.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from types import ModuleType

import pytest

from ttsign.signing import accel


def require_compiled() -> ModuleType:
    module = accel.load()
    if module is not None:
        return module
    why = accel.why_unavailable()
    if shutil.which("cargo") is None:
        pytest.skip(f"the compiled fast path is not built and this machine has no cargo to build it ({why})")
    pytest.fail(f"the compiled fast path (ttsign_accel) is not built ({why}): run `make accel` (make test does)")


@pytest.fixture(scope="session")
def compiled() -> ModuleType:
    return require_compiled()


@pytest.fixture
def process_path() -> Iterator[None]:
    """Restore the process-wide choice (`accel.configure`) a test changes."""
    saved = accel._process
    yield
    accel._process = saved
