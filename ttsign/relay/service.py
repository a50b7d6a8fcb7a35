"""Stub: filled in by helper F (the relay hub)."""

from __future__ import annotations

from typing import Any


def install(services: Any) -> list[Any]:
    """Build this feature's objects onto `services` (ttsign.server.deps.Services); return companions,
    objects with `async start()` and `async close()` that the app's lifespan starts in order and closes
    in reverse."""
    return []
