"""The compiled fast path (`accel/`, Rust + PyO3, the extension module `ttsign_accel`): loading and choosing it.

`TTSIGN_ACCEL` (`Settings.accel`, `SignerOptions.accel`) picks the path a `Signer` signs with:

* ``auto`` (the default): the compiled module when it imports, else the pure-Python path;
* ``on``: the compiled module or nothing: `select` raises `AccelUnavailable` (a ValueError), so
  `ttsign serve` stops at start-up with one line and exit code 2;
* ``off``: never the compiled module.

The pure-Python modules under `ttsign.algorithms` stay the reference: the compiled functions return the
same bytes for the same inputs (`tests/accel/` checks every vector file and random inputs through both).
The module is built from `accel/` by `make accel` (which `make serve` and `make test` run) on a machine
with `cargo`; without it ttsign runs on the pure-Python path.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Literal

Mode = Literal["auto", "on", "off"]
MODULE = "ttsign_accel"
COMPILED, PYTHON = "compiled", "python"
"""The two names of the active path (`/health`'s `components.signer.accel`, the `starting` log line)."""

_loaded: ModuleType | None = None
_why_not: str | None = None


class AccelUnavailable(ValueError):
    """`TTSIGN_ACCEL=on` and the compiled module does not import."""


def load() -> ModuleType | None:
    """The compiled module, or None when it does not import (the reason is kept for `why_unavailable`)."""
    global _loaded, _why_not
    if _loaded is None and _why_not is None:
        try:
            _loaded = importlib.import_module(MODULE)
        except ImportError as exc:
            _why_not = f"{type(exc).__name__}: {exc}"
    return _loaded


def why_unavailable() -> str | None:
    """Why the compiled module does not import (None when it does)."""
    load()
    return _why_not


def select(mode: str) -> ModuleType | None:
    """The module a signer with `TTSIGN_ACCEL=mode` uses: None means the pure-Python path."""
    if mode == "off":
        return None
    if mode not in ("auto", "on"):
        raise ValueError(f"TTSIGN_ACCEL must be auto, on or off, got {mode!r}")
    module = load()
    if module is None and mode == "on":
        raise AccelUnavailable(
            f"TTSIGN_ACCEL=on but the compiled fast path ({MODULE}) does not import ({_why_not}); "
            "build it with `make accel` (needs cargo), or set TTSIGN_ACCEL=auto to sign in pure Python"
        )
    return module


def path_name(module: ModuleType | None) -> str:
    """`compiled` or `python`: which path a signer holding `module` signs with."""
    return COMPILED if module is not None else PYTHON


def describe(mode: str) -> str:
    """What the `starting` line says for `TTSIGN_ACCEL=mode`: the path and, when pure Python, why."""
    try:
        module = select(mode)
    except AccelUnavailable:
        return "unavailable (TTSIGN_ACCEL=on)"
    if module is not None:
        return COMPILED
    return PYTHON if mode == "off" else f"{PYTHON} ({MODULE} not built)"


_UNSET: ModuleType = ModuleType("unset")
_process: ModuleType | None = _UNSET
"""The process-wide choice for code that has no `Signer` at hand (`policy.parse_url`); `configure` sets it."""


def configure(mode: str) -> ModuleType | None:
    """Make `mode` the process-wide choice (`make_signer` does, from `TTSIGN_ACCEL`); returns the module."""
    global _process
    module = select(mode)
    _process = module
    return module


def active() -> ModuleType | None:
    """The process-wide choice: `auto` until `configure` says otherwise."""
    global _process
    if _process is _UNSET:
        _process = select("auto")
    return _process
