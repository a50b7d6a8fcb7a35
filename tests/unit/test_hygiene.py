"""What a contributor meets: every runtime dependency is used by the package, and no package is empty."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "ttsign"


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return {n.split(".")[0] for n in names} | names


def _normalise(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def test_every_runtime_dependency_is_imported():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    wanted = {_normalise(re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0]) for spec in declared}
    provided: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            provided.setdefault(_normalise(dist), set()).add(module)
    imported = _imported_top_levels()
    unused = sorted(d for d in wanted if not provided.get(d, set()) & imported)
    assert unused == [], f"declared in pyproject.toml but never imported by ttsign: {unused}"


def test_no_empty_package():
    """A package whose only file is an `__init__.py` with nothing but a docstring is a placeholder."""
    empty = []
    for init in PACKAGE.rglob("__init__.py"):
        siblings = [p for p in init.parent.iterdir() if p.name not in ("__init__.py", "__pycache__")]
        body = ast.parse(init.read_text(encoding="utf-8")).body
        only_docstring = all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)
        if not siblings and only_docstring:
            empty.append(str(init.parent.relative_to(REPO)))
    assert empty == [], f"empty packages: {empty}"
