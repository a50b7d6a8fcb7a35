"""Reference-vector checking: every vector file in `../shared/vectors` format, by `kind`.

A vector file is a JSON object whose `vectors` list holds cases; each case's `kind` names the algorithm.
Checkers for each kind live in sibling modules and register themselves with :func:`register`.
An unknown kind is reported as *skipped*, never as passed.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Checker = Callable[[dict[str, Any]], None]
"""A checker raises AssertionError (or any Exception) with a readable message when a vector fails."""

_CHECKERS: dict[str, Checker] = {}
_KIND_MODULES = ("xbogus_kinds", "gnarly_kinds", "ttparams_kinds", "url_kinds")


def register(*kinds: str) -> Callable[[Checker], Checker]:
    """Register a checker function for one or more vector kinds."""

    def deco(fn: Checker) -> Checker:
        for kind in kinds:
            _CHECKERS[kind] = fn
        return fn

    return deco


def checkers() -> dict[str, Checker]:
    """All registered checkers, importing the kind modules on first use."""
    for name in _KIND_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return dict(_CHECKERS)


Status = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class Outcome:
    id: str
    kind: str
    status: Status
    detail: str = ""


@dataclass
class FileReport:
    path: str
    outcomes: list[Outcome] = field(default_factory=list)
    error: str = ""

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return not self.error and self.count("failed") == 0


def load_vectors(path: str | Path) -> list[dict[str, Any]]:
    """Read a vector file; raises ValueError when it is not in the shared format."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("vectors"), list):
        raise ValueError(f"{path}: not a vector file (expected a JSON object with a 'vectors' list)")
    return [v for v in data["vectors"] if isinstance(v, dict)]


def check_vector(vector: dict[str, Any]) -> Outcome:
    kind = str(vector.get("kind", ""))
    vid = str(vector.get("id", "?"))
    fn = checkers().get(kind)
    if fn is None:
        return Outcome(vid, kind, "skipped", f"unknown kind {kind!r}")
    try:
        fn(vector)
    except Exception as exc:  # a vector failing for any reason is a failure, reported by id
        return Outcome(vid, kind, "failed", f"{type(exc).__name__}: {exc}")
    return Outcome(vid, kind, "passed")


def check_file(path: str | Path) -> FileReport:
    report = FileReport(str(path))
    try:
        vectors = load_vectors(path)
    except (OSError, ValueError) as exc:
        report.error = str(exc)
        return report
    report.outcomes = [check_vector(v) for v in vectors]
    return report
