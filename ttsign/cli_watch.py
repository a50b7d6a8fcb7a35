"""Stub: `ttsign watch`, filled in by helper F (ttsign watch USER)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this command (or command group) to the `ttsign` CLI."""
