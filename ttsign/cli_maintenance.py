"""`ttsign maintenance on|off|status`: switch or read maintenance mode on a running server, through its admin
route (`/v1/admin/maintenance`), with an admin key from `TTSIGN_ADMIN_KEY` or `--admin-key`.

One line on stdout for the state; on failure one line on stderr and exit code 1 (the server refused: a wrong
key, admin routes off, a bad message) or 2 (no admin key given, the server cannot be reached or answered
something that is not ttsign's).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import typer

ACTIONS = ("on", "off", "status")
DEFAULT_URL = "http://127.0.0.1:8080"


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _when(at: Any) -> str:
    if not isinstance(at, int | float):
        return "?"
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{stamp} ({max(0, int(time.time() - at))} s ago)"


def describe(state: dict[str, Any]) -> str:
    """One line for a maintenance state as the admin route answers it."""
    if not state.get("enabled"):
        return f"maintenance: off (store: {state.get('store', '?')})"
    line = f"maintenance: on since {_when(state.get('since'))} by {state.get('by', '?')}: {state.get('message', '')}"
    if state.get("reason"):
        line += f" [reason: {state['reason']}]"
    return line + f" (Retry-After {state.get('retry_after_s', '?')} s, store: {state.get('store', '?')})"


def call(action: str, url: str, admin_key: str, message: str | None, retry_after: int | None, timeout_s: float) -> str:
    """Do `action` against the server at `url`; the line to print, or `typer.Exit` with the error shown."""
    import httpx

    endpoint = url.rstrip("/") + "/v1/admin/maintenance"
    headers = {"X-Admin-Key": admin_key}
    try:
        if action == "status":
            r = httpx.get(endpoint, headers=headers, timeout=timeout_s)
        else:
            body: dict[str, Any] = {"enabled": action == "on"}
            if message is not None:
                body["message"] = message
            if retry_after is not None:
                body["retry_after_s"] = retry_after
            r = httpx.post(endpoint, headers=headers, json=body, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach the ttsign server at {url} ({type(exc).__name__}); is it running?", 2) from None
    try:
        data = r.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _fail(f"{endpoint} answered HTTP {r.status_code} without ttsign's JSON; is {url} a ttsign server?", 2)
    if r.status_code != 200 or not isinstance(data.get("maintenance"), dict):
        raise _fail(f"the server refused (HTTP {r.status_code}): {data.get('message', '')}".rstrip(), 1)
    return describe(data["maintenance"])


def register(app: typer.Typer) -> None:
    """Add `ttsign maintenance` to the `ttsign` CLI."""

    @app.command("maintenance")
    def maintenance(
        action: str = typer.Argument(..., help="on, off or status", metavar="on|off|status"),
        message: str | None = typer.Option(
            None, "--message", "-m", help="what callers read in the 503 (at least 19 characters)"
        ),
        url: str = typer.Option(DEFAULT_URL, "--url", help="the running server"),
        admin_key: str | None = typer.Option(
            None, "--admin-key", help="an admin key (default: $TTSIGN_ADMIN_KEY); one of TTSIGN_ADMIN_KEYS"
        ),
        retry_after: int | None = typer.Option(
            None, "--retry-after", min=1, max=86_400, help="the 503's Retry-After in seconds (default 300)"
        ),
        timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="seconds to wait for the server"),
    ) -> None:
        """Switch maintenance mode on or off on a running server, or show it: while on, the signing and
        connect routes answer 503 with the message and Retry-After."""
        if action not in ACTIONS:
            raise _fail(f"unknown action {action[:40]!r}: use on, off or status", 2)
        key = admin_key or os.environ.get("TTSIGN_ADMIN_KEY", "")
        if not key.strip():
            raise _fail(
                "no admin key: set TTSIGN_ADMIN_KEY or pass --admin-key (one of the server's TTSIGN_ADMIN_KEYS)", 2
            )
        if message is not None and action != "on":
            raise _fail("--message goes with `on` only", 2)
        typer.echo(call(action, url, key.strip(), message, retry_after, timeout))
