"""Live connect for the client libraries (live-connect.md §1.1a, §1.2a, §1.2c, §3) and room lookups.

* `GET /webcast/fetch` (TikTokLive 7.x) and `GET /webcast/rooms/{room_id}/connect`
  (tiktok-live-connector 2.x, Euler's SDKs): 200 with raw `ProtoMessageFetchResult` bytes, `X-Set-TT-Cookie`
  (ttwid first), `X-Room-Id`. Never a 200 with an empty body.
* `GET /webcast/anchors/{unique_id}/connect` (Euler's SDKs): the room lookup, then the same answer as
  `rooms/{room_id}/connect`, in one call and one deadline; 404 when the user is not live.
* `GET /webcast/anchors/{unique_id}/room_id`: `{code, ok, room_id, is_live}` (the connector's fallback).
* `GET /v1/rooms/{unique_id}`: room id, live status and room info.

The caller's own session (`session_id` + `tt_target_idc` in the query, or the `x-cookie-header` header;
`ttsign.tiktok.session`) is parsed strictly (a 400 otherwise), its values registered with the log
redaction, and used for this request's TikTok calls only: the room lookup and the connect, which then runs
on an identity issued for this caller alone (`TikTokClient.connect`). It is never stored, and never put in
`X-Set-TT-Cookie` (the caller has it). `x-oauth-token` is refused with a 400 that says why.

Each request has one deadline, `TTSIGN_UPSTREAM_TIMEOUT` x 1.5 from its start, shared by every TikTok
call it makes (identity fetch, im/fetch, fallbacks); past it the answer is a 504. Upstream failures map
the same way on every route: TikTok unreachable or answering garbage 502, TikTok too slow 504, TikTok
rate limiting us 503 with TikTok's own `Retry-After`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ttsign.server import logs
from ttsign.server.deps import services
from ttsign.server.errors import ApiError
from ttsign.server.openapi import (
    ANY,
    KEYED,
    PATH_ID,
    PROTOBUF_OK,
    UPSTREAM,
    AnchorRoom,
    RoomOut,
    connect_query,
    responses,
)
from ttsign.server.validation import check_user_agent
from ttsign.tiktok.client import CALLER_BUDGET_FACTOR, caller_budget_s
from ttsign.tiktok.failures import retry_after_header
from ttsign.tiktok.rooms import ROOM_ID, RoomError, check_room_id, normalize_unique_id
from ttsign.tiktok.session import MAX_HEADER_CHARS, SESSION_COOKIES, CallerSession, SessionError, caller_session
from ttsign.tiktok.webcast import ConnectError, ConnectRequest

router = APIRouter(tags=["client-compatible"])
SESSION_DOC = {
    "session_id": "your own TikTok `sessionid`: used for this request's TikTok calls only, never stored or logged",
    "tt_target_idc": "your account's data centre (`tt-target-idc`), with `session_id`; alone it is ignored",
}
SESSION_HEADERS = [
    {
        "name": "x-cookie-header",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": MAX_HEADER_CHARS},
        "description": "your own TikTok session as a cookie list (`sessionid=...; tt-target-idc=...`); only "
        f"{', '.join(SESSION_COOKIES)} are kept, used for this request only, never stored or logged",
    },
    {
        "name": "x-oauth-token",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "Euler Stream's OAuth token: refused (400), ttsign cannot resolve it into a TikTok session",
    },
]


def session_only() -> dict[str, Any]:
    """`openapi_extra` for the room routes: the caller-session params alone (sent on the lookup's calls)."""
    params = [p for p in session_query()["parameters"] if p["name"] in SESSION_DOC or p["in"] == "header"]
    return {"parameters": params}


def session_query(room_id_pattern: str | None = None) -> dict[str, Any]:
    """The connect query (`connect_query`) with the caller-session params described as they now work."""
    extra = connect_query(room_id_pattern)
    for param in extra["parameters"]:
        if param["name"] in SESSION_DOC:
            param["description"] = SESSION_DOC[param["name"]]
    extra["parameters"] += [dict(h) for h in SESSION_HEADERS]
    return extra


ROOM_ERRORS = {
    "not_found": 404,
    "bad_input": 400,
    "region_blocked": 451,
    "bot_walled": 502,
    "upstream": 502,
    "rate_limited": 503,
    "timeout": 504,
}
CONNECT_ERRORS = {"identity": 503, "rate_limited": 503, "timeout": 504, "bad_input": 400}  # anything else: 502


def _client(request: Request) -> Any:
    client = services(request).upstream
    if client is None:
        raise ApiError(503, "live connect is not configured on this server")
    return client


def _deadline(request: Request) -> tuple[float, float]:
    """(budget in seconds, the loop time by which this request answers)."""
    budget = caller_budget_s(services(request).settings)
    return budget, asyncio.get_running_loop().time() + budget


def _too_slow(budget: float) -> ApiError:
    return ApiError(
        504,
        f"TikTok did not answer within {budget:g} s (TTSIGN_UPSTREAM_TIMEOUT x {CALLER_BUDGET_FACTOR:g}); try again",
        extra={"reason": "timeout"},
    )


def _connect_error(exc: ConnectError) -> ApiError:
    status = CONNECT_ERRORS.get(exc.kind, 502)
    headers = {"Retry-After": retry_after_header(exc.retry_after_s)} if status == 503 else {}
    prefix = {
        "identity": "no TikTok identity available",
        "rate_limited": "TikTok is rate limiting this server",
        "timeout": "TikTok did not answer in time",
        "bad_input": "cannot send this request to TikTok",
    }.get(exc.kind, "TikTok upstream failed")
    return ApiError(status, f"{prefix}: {exc}", headers=headers, extra={"reason": exc.kind})


def _unique_id(raw: str) -> str:
    try:
        return normalize_unique_id(raw)
    except RoomError as exc:
        raise _room_error(exc) from None


def _session(request: Request) -> CallerSession | None:
    """The caller's own session from this request (None: anonymous); 400 for anything refused."""
    for name in ("x-cookie-header", "x-oauth-token"):
        if len(request.headers.getlist(name)) > 1:
            raise ApiError(400, f"{name} is sent more than once; send it once", extra={"reason": "bad_session"})
    if len(request.query_params.getlist("session_id")) > 1:
        raise ApiError(400, "session_id is sent more than once; send it once", extra={"reason": "bad_session"})
    raw = request.query_params.get("session_id"), request.headers.get("x-cookie-header")
    logs.add_secrets(*raw, request.headers.get("x-oauth-token"))  # as sent, before parsing (even if refused)
    try:
        session = caller_session(request.query_params, request.headers)
    except SessionError as exc:
        raise ApiError(400, str(exc), extra={"reason": exc.reason}) from None
    if session is not None:
        logs.add_secrets(*session.values())
    return session


def _connect_input(request: Request) -> tuple[str, str]:
    """The connect query's user agent and cursor, checked (400 otherwise)."""
    q = request.query_params
    if q.get("platform", "web") == "mobile":
        raise ApiError(400, "platform=mobile is not supported by ttsign; use platform=web")
    if q.get("platform", "web") not in ("web", ""):
        raise ApiError(400, "platform must be 'web' (the only platform ttsign connects)")
    ua = check_user_agent(q.get("user_agent")) or services(request).signer.default_preset.user_agent
    if not ua.isascii():  # relay and auto send it to TikTok as the User-Agent header
        raise ApiError(400, "user_agent must be ASCII: it is sent to TikTok as the User-Agent header")
    cursor = q.get("cursor", "")
    if len(cursor) > 512:
        raise ApiError(400, "cursor is longer than 512 characters")
    return ua, cursor


async def _connect(request: Request, room_id: str) -> Response:
    try:
        check_room_id(room_id)
    except RoomError as exc:
        raise ApiError(400, str(exc)) from None
    ua, cursor = _connect_input(request)
    session = _session(request)
    client = _client(request)
    budget, deadline = _deadline(request)
    return await _answer(client, ConnectRequest(room_id, ua, cursor, deadline), session, budget)


async def _answer(client: Any, req: ConnectRequest, session: CallerSession | None, budget: float) -> Response:
    """The connect answer for `req` (its deadline already set), or the ApiError for why not."""
    try:
        async with asyncio.timeout_at(req.deadline):
            result = await client.connect(req, session)
    except TimeoutError:
        raise _too_slow(budget) from None
    except ConnectError as exc:
        raise _connect_error(exc) from None
    cookie = result.set_tt_cookie()
    if not result.body or not cookie:
        raise ApiError(502, "TikTok upstream gave no usable fetch result or cookie")
    return Response(
        result.body,
        media_type="application/x-protobuf",
        headers={"X-Set-TT-Cookie": cookie, "X-Room-Id": result.room_id, "X-Connect-Strategy": result.strategy},
    )


@router.get("/webcast/fetch/", include_in_schema=False)  # TikTokLive 6.6.x's path (an alias, issue 10)
@router.get(
    "/webcast/fetch",
    summary="Connect bootstrap for TikTokLive (protobuf fetch result)",
    openapi_extra=session_query(ROOM_ID.pattern),
    response_class=Response,
    responses=responses(PROTOBUF_OK, *ANY, *KEYED, *UPSTREAM),
)
async def webcast_fetch(request: Request) -> Response:
    return await _connect(request, request.query_params.get("room_id", ""))


@router.get(
    "/webcast/rooms/{room_id}/connect",
    summary="Connect bootstrap for tiktok-live-connector",
    openapi_extra=session_query(),
    response_class=Response,
    responses=responses(PROTOBUF_OK, *ANY, *KEYED, *UPSTREAM, *PATH_ID),
)
async def room_connect(request: Request, room_id: str) -> Response:
    return await _connect(request, room_id)


@router.get(
    "/webcast/anchors/{unique_id}/connect",
    summary="Connect bootstrap by username (Euler's SDKs): room lookup, then as rooms/{room_id}/connect",
    openapi_extra=session_query(),
    response_class=Response,
    responses=responses(PROTOBUF_OK, *ANY, *KEYED, *UPSTREAM, *PATH_ID, 451),
)
async def anchor_connect(request: Request, unique_id: str) -> Response:
    uid = _unique_id(unique_id)
    ua, cursor = _connect_input(request)
    session = _session(request)
    client, found, deadline = await _lookup(request, uid, session)
    if not found.room_id or not found.is_live:
        raise ApiError(404, f"TikTok user '{uid}' is not LIVE now (no room to connect to)", extra={"reason": "offline"})
    budget = caller_budget_s(services(request).settings)
    return await _answer(client, ConnectRequest(found.room_id, ua, cursor, deadline), session, budget)


def _room_error(exc: RoomError) -> ApiError:
    status = ROOM_ERRORS.get(exc.kind, 502)
    headers = {"Retry-After": retry_after_header(exc.retry_after_s)} if status == 503 else {}
    return ApiError(status, str(exc), headers=headers, extra={"reason": exc.kind})


async def _lookup(request: Request, unique_id: str, session: CallerSession | None = None) -> tuple[Any, Any, float]:
    """Validate the username and look its room up within the request's deadline (with the caller's session).

    Returns the upstream client, the lookup result and the deadline (for any follow-up call).
    """
    uid = _unique_id(unique_id)
    client = _client(request)
    budget, deadline = _deadline(request)
    try:
        async with asyncio.timeout_at(deadline):
            found = await client.rooms.lookup(uid, session)
    except TimeoutError:
        raise _too_slow(budget) from None
    except RoomError as exc:
        raise _room_error(exc) from None
    return client, found, deadline


def _anchor_error(err: ApiError) -> JSONResponse:
    """The connector's own error shape for the anchors route."""
    return JSONResponse(
        {"code": err.status, "ok": False, "room_id": None, "is_live": False, "message": err.message, **err.extra},
        status_code=err.status,
        headers=err.headers,
    )


@router.get(
    "/webcast/anchors/{unique_id}/room_id",
    openapi_extra=session_only(),
    summary="Room id and live status (connector fallback)",
    responses=responses(AnchorRoom, *ANY, *KEYED, *UPSTREAM, *PATH_ID, 451),
)
async def anchor_room_id(request: Request, unique_id: str) -> JSONResponse:
    try:
        _, found, _ = await _lookup(request, unique_id, _session(request))
    except ApiError as err:
        return _anchor_error(err)
    return JSONResponse(
        {
            "code": 200,
            "ok": bool(found.room_id),
            "room_id": found.room_id,
            "is_live": found.is_live,
            "routes_attempted": [found.source],
            "source": found.source,
            "message": "room found" if found.room_id else "user has no LIVE room id (offline)",
        }
    )


@router.get(
    "/v1/rooms/{unique_id}",
    openapi_extra=session_only(),
    summary="Room id, live status and room info for a username",
    responses=responses(RoomOut, *ANY, *KEYED, *UPSTREAM, *PATH_ID, 451),
)
async def v1_room(request: Request, unique_id: str) -> JSONResponse:
    session = _session(request)
    client, found, deadline = await _lookup(request, unique_id, session)
    data = found.summary()
    if found.room_id and found.is_live:
        try:  # room info only adds detail: in the time left, or not at all
            async with asyncio.timeout_at(deadline):
                info = await client.rooms.room_info(found.room_id, session)
        except (RoomError, TimeoutError):
            info = {}
        if info:
            data["title"] = data["title"] or info.get("title")
            data["viewer_count"] = data["viewer_count"] or info.get("user_count")
            data["start_time"] = data["start_time"] or info.get("create_time")
            data["stream_urls"] = data["stream_urls"] or info.get("stream_url")
            data["is_live"] = info.get("status", 2) != 4
    return JSONResponse({"code": 200, "data": data})


# An id holding "/" (sent as %2F, or a traversal like ../) decodes to more path segments than the routes
# above take: answer the same 400 they would, not a 404. Kept out of the schema; registered after them.
# NB: `/v1/rooms/{unique_id:path}` takes every deeper path under /v1/rooms/: a router with routes such as
# `/v1/rooms/{unique_id}/events` must be included before this one (app.ROUTE_MODULES order).
@router.get("/webcast/rooms/{room_id:path}/connect", include_in_schema=False)
async def room_connect_bad_id(request: Request, room_id: str) -> Response:
    return await _connect(request, room_id)


@router.get("/webcast/anchors/{unique_id:path}/connect", include_in_schema=False)
async def anchor_connect_bad_id(request: Request, unique_id: str) -> Response:
    return await anchor_connect(request, unique_id)


@router.get("/webcast/anchors/{unique_id:path}/room_id", include_in_schema=False)
async def anchor_room_id_bad_id(request: Request, unique_id: str) -> JSONResponse:
    return await anchor_room_id(request, unique_id)


@router.get("/v1/rooms/{unique_id:path}", include_in_schema=False)
async def v1_room_bad_id(request: Request, unique_id: str) -> JSONResponse:
    return await v1_room(request, unique_id)
