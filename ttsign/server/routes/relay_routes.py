"""LIVE events as JSON (issue 12): a room's events over SSE, a poll, and a WebSocket, from the relay hub.

* `GET /v1/rooms/{unique_id}/events` with `Accept: text/event-stream` (what `EventSource` sends; curl needs
  `-H 'Accept: text/event-stream'`): Server-Sent Events, one per room event: `id:` its id (so `Last-Event-ID`
  resumes after it, from the room's buffer), `event:` its type, `data:` the JSON object of `ttsign.relay.events`.
  The stream ends after the room ends (`room_end`), or when the subscriber is cut off, with a last
  `event: end` whose data is `{"type": "end", "code", "reason"}` (`ttsign.relay.hub` lists the codes).
  A comment line (`: ping`) every 15 s keeps proxies from closing an idle stream.
* The same URL with any other `Accept` (a plain `curl`, a script): a poll. The room's buffered events after
  `?after=ID` (or `Last-Event-ID`; default 0: every event buffered) as one JSON object, answered at once; the
  room stays open for `TTSIGN_RELAY_GRACE` seconds, so polling at a shorter interval misses nothing the buffer
  keeps.
* `GET /v1/rooms/{unique_id}/ws` (WebSocket): one JSON text message per event (the same objects), then
  `{"type": "end", "code", "reason"}` and a close with that code; a refusal is `{"type": "error", "code",
  "message"}` and a close with the Euler code (4404 not live, 4429 too many connections, ...).

Query (all three): `raw=1` adds each TikTok message's bytes in base64 (`raw`), `streaks=1` adds the
`gift_streak` updates of running combos, `limit=N` ends after N events (a stream) or answers at most N (a poll);
`after` / `last_event_id` (WebSocket) resume. Limits and close codes: `ttsign.relay.hub`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.datastructures import Headers, QueryParams

from ttsign.relay.hub import END_BY_SUBSCRIBER, RelayRefused, Subscription
from ttsign.server.deps import services
from ttsign.server.errors import ApiError, long_enough
from ttsign.server.openapi import ANY, KEYED, PATH_ID, UPSTREAM, _header, responses
from ttsign.tiktok.rooms import UNIQUE_ID

router = APIRouter(tags=["native"])

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
MAX_ID = 10**15
MAX_LIMIT = 100_000
PING_S = 15
STREAM = "text/event-stream"


class RelayPoll(BaseModel):
    """A poll of a room's events: those buffered after `after`, oldest first."""

    model_config = ConfigDict(extra="allow")
    code: int
    unique_id: str
    room_id: str
    last_id: int
    missed: int
    events: list[dict[str, Any]]


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


FLAG = {"type": "string", "enum": ["0", "1", "true", "false"]}
ID_SCHEMA = {"type": "string", "pattern": "^[0-9]{1,15}$"}
EVENTS_QUERY = {
    "parameters": [
        _q("raw", FLAG, "1: add each TikTok message's protobuf bytes, base64, as `raw`"),
        _q("streaks", FLAG, "1: add `gift_streak` events, each update of a running gift combo"),
        _q("after", ID_SCHEMA, "resume after this event id (as `Last-Event-ID`); a poll's default is 0 (all kept)"),
        _q("limit", {"type": "string", "pattern": "^[0-9]{1,6}$"}, "end the stream after this many events"),
        {
            "name": "Last-Event-ID",
            "in": "header",
            "required": False,
            "schema": ID_SCHEMA,
            "description": "the last event id received: the stream resumes after it (EventSource sends it)",
        },
    ]
}
EVENTS_OK = {
    "description": "`Accept: text/event-stream`: the room's events as Server-Sent Events (`id`, `event` = the "
    "type, `data` = the event's JSON), until the room ends. Any other Accept: a poll, the buffered events as JSON.",
    "content": {
        STREAM: {"schema": {"type": "string"}},
        "application/json": {"schema": RelayPoll.model_json_schema()},
    },
    "headers": {"X-Room-Id": _header("the LIVE room's numeric id", required=True)},
}


def _flag(q: QueryParams, name: str) -> bool:
    values = q.getlist(name)
    if len(values) > 1:
        raise ApiError(400, f"{name} is sent more than once; send it once")
    value = (values[0] if values else "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ApiError(400, f"{name} must be 1 or 0 (true or false), not {value[:20]!r}")


def _number(value: str | None, name: str, limit: int) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or int(value) > limit:
        raise ApiError(400, f"{name} must be a whole number from 0 to {limit}")
    return int(value)


def _options(q: QueryParams, headers: Headers, after_name: str) -> tuple[bool, bool, int | None, int | None]:
    """raw, streaks, the id to resume after (None: from now), the event limit (None: none)."""
    for name in (after_name, "limit"):
        if len(q.getlist(name)) > 1:
            raise ApiError(400, f"{name} is sent more than once; send it once")
    after = _number(q.get(after_name), after_name, MAX_ID)
    if after is None:
        after = _number(headers.get("last-event-id"), "Last-Event-ID", MAX_ID)
    limit = _number(q.get("limit"), "limit", MAX_LIMIT)
    if limit == 0:
        raise ApiError(400, "limit must be at least 1 (omit it for no limit)")
    return _flag(q, "raw"), _flag(q, "streaks"), after, limit


def _owner(scope: Any) -> str:
    caller = scope.get("state", {}).get("caller")
    if caller:
        return str(caller)
    client = scope.get("client")
    return "ip:" + (str(client[0]) if client else "unknown")


def _hub(request: Request | WebSocket) -> Any:
    hub = services(request).relay  # type: ignore[arg-type]
    if hub is None:
        raise ApiError(503, "the LIVE relay is not configured on this server (no upstream client)")
    return hub


def refused_error(exc: RelayRefused, settings: Any) -> ApiError:
    """The HTTP error for a refused subscription (429s with the rate-limit headers both clients read)."""
    headers: dict[str, str] = {}
    if exc.http_status == 429:
        wait = max(1, int(exc.retry_after_s + 0.999))
        reset = str(int(time.time()) + wait)
        headers = {
            "Retry-After": str(wait),
            "RateLimit-Remaining": str(wait),
            "RateLimit-Reset": reset,
            "X-RateLimit-Reset": reset,
            "RateLimit-Limit": str(settings.relay_subscribers_per_key),
        }
    elif exc.http_status == 503:
        headers = {"Retry-After": str(max(1, int(exc.retry_after_s + 0.999)))}
    return ApiError(exc.http_status, exc.message, headers=headers, extra={"reason": "relay", "close_code": exc.code})


def _end_event(sub: Subscription) -> dict[str, Any]:
    code, reason = sub.end or (END_BY_SUBSCRIBER, "closed")
    return {"type": "end", "code": code, "reason": reason}


@router.get(
    "/v1/rooms/{unique_id}/events",
    summary="A LIVE room's events: Server-Sent Events (Accept: text/event-stream), or a JSON poll",
    openapi_extra=EVENTS_QUERY,
    response_class=Response,
    responses=responses(EVENTS_OK, *ANY, *KEYED, *UPSTREAM, *PATH_ID, 451),
)
async def room_events(request: Request, unique_id: str) -> Response:
    if not UNIQUE_ID.fullmatch(unique_id.removeprefix("@")):
        raise ApiError(400, "unique_id must be a TikTok username: 1-24 of A-Z a-z 0-9 _ . (optionally after @)")
    raw, streaks, after, limit = _options(request.query_params, request.headers, "after")
    stream = STREAM in request.headers.get("accept", "").lower()
    hub = _hub(request)
    settings = services(request).settings
    try:
        sub = await hub.subscribe(
            unique_id,
            owner=_owner(request.scope),
            raw=raw,
            streaks=streaks,
            last_event_id=after if (stream or after is not None) else 0,
        )
    except RelayRefused as exc:
        raise refused_error(exc, settings) from None
    headers = {"X-Room-Id": sub.room_id}
    if not stream:
        try:
            events = sub.pending()
        finally:
            sub.close()
        if limit is not None:
            events = events[:limit]
        body = {
            "code": 200,
            "unique_id": sub.unique_id,
            "room_id": sub.room_id,
            "last_id": events[-1].id if events else (after or 0),
            "missed": sub.missed,
            "events": [e.as_json(raw=raw) for e in events],
        }
        return JSONResponse(body, headers=headers)

    async def events_of(sub: Subscription) -> Any:
        sent = 0
        try:
            async for event in sub:
                yield ServerSentEvent(data=event.text(raw=sub.raw), event=event.type, id=str(event.id))
                sent += 1
                if limit is not None and sent >= limit:
                    return
            yield ServerSentEvent(data=json.dumps(_end_event(sub)), event="end")
        finally:
            sub.close()

    return EventSourceResponse(
        events_of(sub),
        ping=PING_S,
        headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        send_timeout=30,
    )


@router.websocket("/v1/rooms/{unique_id}/ws")
async def room_ws(ws: WebSocket, unique_id: str) -> None:
    await ws.accept()
    try:
        hub = _hub(ws)
        raw, streaks, after, limit = _options(ws.query_params, ws.headers, "last_event_id")
        sub = await hub.subscribe(unique_id, owner=_owner(ws.scope), raw=raw, streaks=streaks, last_event_id=after)
    except (ApiError, RelayRefused) as exc:
        if isinstance(exc, RelayRefused):
            code, message = exc.code, exc.message
        else:
            code, message = 4400 if exc.status == 400 else 4500, exc.message
        with contextlib.suppress(Exception):
            await ws.send_text(json.dumps({"type": "error", "code": code, "message": long_enough(message)}))
            await ws.close(code, message[:120])
        return

    gone = asyncio.Event()

    async def watch_client() -> None:
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass
        gone.set()
        sub.close()

    watcher = asyncio.create_task(watch_client())
    sent = 0
    try:
        async for event in sub:
            await ws.send_text(event.text(raw=sub.raw))
            sent += 1
            if limit is not None and sent >= limit:
                sub.finish(END_BY_SUBSCRIBER, f"the limit of {limit} events is reached", drain=False)
                break
        if not gone.is_set():
            end = _end_event(sub)
            with contextlib.suppress(Exception):
                await ws.send_text(json.dumps(end))
                await ws.close(end["code"], str(end["reason"])[:120])
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        sub.close()
        watcher.cancel()
