"""Stub: `ttsign monitor`, filled in by helper B (ttsign monitor)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this command (or command group) to the `ttsign` CLI."""
