"""Stub: `ttsign analyze`, filled in by helper A (ttsign analyze baseline|diff)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this command (or command group) to the `ttsign` CLI."""
