"""What `docker build .` sends as its context under .dockerignore, computed here (no Docker daemon)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERIGNORE = ROOT / ".dockerignore"


def dockerignore_context(root: Path) -> list[str]:
    """The files (relative paths) the build context holds under .dockerignore's rules: each pattern in turn,
    the last match decides, `!` lets a path back in (enough of Docker's matching for the patterns used)."""
    rules = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), line.lstrip("!").rstrip("/")))
    # Only the top-level folders a `!` rule names are walked (the rest, .venv and node_modules among them, are
    # excluded whole by `*`, which the test below checks is the first rule).
    assert rules[0] == (False, "*"), ".dockerignore should start by excluding everything"
    walked = {pattern.split("/")[0] for negated, pattern in rules if negated}
    files = [p for p in root.iterdir() if p.is_file()]
    files += [p for top in walked if (root / top).is_dir() for p in (root / top).rglob("*") if p.is_file()]
    out = []
    for path in sorted(files):
        rel = path.relative_to(root).as_posix()
        included = True
        for negated, pattern in rules:
            regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
            if re.fullmatch(regex + "(/.*)?", rel):
                included = negated
        if included:
            out.append(rel)
    return out


def copy_context(dest: Path, root: Path = ROOT) -> Path:
    """A copy of the build context in `dest`: what the Dockerfile's builder stage starts from."""
    for rel in dockerignore_context(root):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, dest / rel)
    return dest
