"""README.md's fenced code blocks, read the way a Markdown renderer reads them (markdown-it-py, CommonMark),
and the shell commands inside an ``sh`` block. Used by tests/e2e/test_readme.py; no I/O beyond reading the file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

_TRAILING_COMMENT = re.compile(r"\s+#(\s.*)?$")


@dataclass(frozen=True)
class Block:
    line: int
    """1-based README line of the opening fence."""
    lang: str
    """First word of the info string, lower-cased ('' when the fence has none)."""
    text: str

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.lang or 'no-language'}"

    def first_line(self) -> str:
        return self.text.splitlines()[0].strip() if self.text.strip() else ""


@dataclass(frozen=True)
class Command:
    line: int
    """1-based README line where the command starts."""
    text: str
    """The command as written (continuation lines joined with a space, trailing comment kept)."""

    @property
    def bare(self) -> str:
        """The command without its trailing `# comment`: what an allow-list entry is matched against."""
        return _TRAILING_COMMENT.sub("", self.text).strip()


def blocks(path: Path) -> list[Block]:
    """Every code block of the Markdown file, in order: fenced ones, and indented ones (which have no language)."""
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    out = []
    for tok in tokens:
        if tok.type in {"fence", "code_block"} and tok.map is not None:
            info = tok.info.strip().split()
            out.append(Block(line=tok.map[0] + 1, lang=info[0].lower() if info else "", text=tok.content))
    return out


def commands(block: Block) -> list[Command]:
    """The block's commands, one per line; `\\` continuations joined; blank and comment-only lines dropped."""
    out: list[Command] = []
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(block.text.splitlines()):
        line = raw.rstrip()
        if not pending:
            start = block.line + 1 + offset
            if not line.strip() or line.lstrip().startswith("#"):
                continue
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line.strip())
        out.append(Command(line=start, text=" ".join(p for p in pending if p)))
        pending = []
    if pending:
        out.append(Command(line=start, text=" ".join(pending)))
    return out
