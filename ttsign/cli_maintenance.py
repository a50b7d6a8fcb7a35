"""Stub: `ttsign maintenance`, filled in by helper D (ttsign maintenance on|off|status)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this command (or command group) to the `ttsign` CLI."""
