"""`ttsign watch USER`: a LIVE room's events, live, from a ttsign server's relay (its SSE endpoint).

One line per event (`[chat] @viewer (Nickname): text`), or with `--json` the relay's JSON object per line, for
pipes (`ttsign watch someone --json | jq .data.text`). It stops when the room ends (exit 0), after `--count`
events, or on Ctrl-C; `--after 0` starts with the events the room has buffered. A refusal (not LIVE, a limit,
a wrong key) prints the server's message and exits 1. `--url` is the ttsign server (default `TTSIGN_URL` or
http://127.0.0.1:8080), `--key` its API key (default `TTSIGN_API_KEY`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import typer

DEFAULT_URL = "http://127.0.0.1:8080"


def _who(data: dict[str, Any]) -> str:
    user = data.get("user") or {}
    handle = user.get("unique_id") or user.get("id") or "?"
    nick = user.get("nickname")
    return f"@{handle} ({nick})" if nick and nick != handle else f"@{handle}"


def line_of(event: dict[str, Any]) -> str:
    """One event as a human line."""
    kind = event.get("type", "?")
    data = event.get("data") or {}
    if kind == "chat":
        return f"[chat] {_who(data)}: {data.get('text', '')}"
    if kind in ("gift", "gift_streak"):
        gift = data.get("gift") or {}
        suffix = " (streak)" if kind == "gift_streak" else ""
        return f"[{kind}] {_who(data)} sent {gift.get('name', '?')} x{data.get('count', 1)}{suffix}"
    if kind == "like":
        return f"[like] {_who(data)} liked x{data.get('count', 0)} (total {data.get('total', 0)})"
    if kind == "member":
        return f"[member] {_who(data)} joined ({data.get('viewers', 0)} viewers)"
    if kind in ("follow", "share"):
        return f"[{kind}] {_who(data)}"
    if kind == "viewers":
        return f"[viewers] {data.get('count', 0)}"
    if kind == "room_end":
        return f"[room_end] {data.get('reason', '')}"
    if kind == "control":
        detail = data.get("reason") or data.get("tips") or data.get("strategy") or ""
        return f"[control] {data.get('source', '')} {data.get('action', '')} {detail}".rstrip()
    if kind == "end":
        return f"[end] {event.get('code')} {event.get('reason', '')}"
    return f"[{kind}] {data.get('method') or event.get('method', '')} ({data.get('size', 0)} bytes)"


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) per Server-Sent Event of `lines` (comments and ids skipped)."""
    name, data = "message", list[str]()
    for line in lines:
        if line == "":
            if data:
                yield name, "\n".join(data)
            name, data = "message", list[str]()
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


def watch(
    user: str,
    *,
    url: str,
    key: str | None,
    as_json: bool,
    count: int | None,
    raw: bool,
    streaks: bool,
    after: int | None = None,
    out: Any = None,
) -> int:
    """Print `user`'s events from the relay at `url`; the process exit code."""
    import httpx

    out = out or sys.stdout
    params = {k: "1" for k, on in (("raw", raw), ("streaks", streaks)) if on}
    if after is not None:
        params["after"] = str(after)
    headers = {"Accept": "text/event-stream"}
    if key:
        headers["X-Api-Key"] = key
    target = f"{url.rstrip('/')}/v1/rooms/{quote(user.removeprefix('@'), safe='')}/events"
    seen = 0
    timeout = httpx.Timeout(30.0, read=None)
    try:
        with httpx.stream("GET", target, params=params, headers=headers, timeout=timeout) as resp:
            if resp.status_code != 200:
                resp.read()
                try:
                    message = resp.json().get("message", resp.text)
                except ValueError:
                    message = resp.text
                typer.echo(f"ttsign watch: HTTP {resp.status_code}: {message}", err=True)
                return 1
            for name, data in sse_events(resp.iter_lines()):
                try:
                    event = json.loads(data)
                except ValueError:
                    continue
                if name == "end":
                    if not as_json:
                        print(line_of(event), file=out, flush=True)
                    return 0 if event.get("code") in (4005, 1000) else 1
                print(json.dumps(event, ensure_ascii=False) if as_json else line_of(event), file=out, flush=True)
                seen += 1
                if count is not None and seen >= count:
                    return 0
    except httpx.HTTPError as exc:
        typer.echo(f"ttsign watch: cannot read {target}: {exc}", err=True)
        return 1
    return 0


def register(app: typer.Typer) -> None:
    """Add `ttsign watch` to the `ttsign` CLI."""

    @app.command("watch")
    def watch_command(
        user: str = typer.Argument(..., metavar="USER", help="the TikTok username whose LIVE to watch"),
        url: str = typer.Option(DEFAULT_URL, "--url", envvar="TTSIGN_URL", help="the ttsign server"),
        key: str | None = typer.Option(None, "--key", envvar="TTSIGN_API_KEY", help="the server's API key"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object per line (for pipes)"),
        count: int | None = typer.Option(None, "--count", "-n", min=1, help="stop after this many events"),
        raw: bool = typer.Option(False, "--raw", help="add each TikTok message's bytes (base64)"),
        streaks: bool = typer.Option(False, "--streaks", help="show each update of a running gift combo"),
        after: int | None = typer.Option(
            None, "--after", min=0, help="first the room's buffered events after this id (0: all of them)"
        ),
    ) -> None:
        """Print a LIVE room's events as they happen, from this server's relay (Ctrl-C to stop)."""
        try:
            code = watch(user, url=url, key=key, as_json=as_json, count=count, raw=raw, streaks=streaks, after=after)
        except KeyboardInterrupt:
            code = 0
        raise typer.Exit(code)
