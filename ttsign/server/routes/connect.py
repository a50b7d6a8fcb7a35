"""Live connect for the client libraries (live-connect.md §1.1a, §1.2a, §1.2c, §3) and room lookups.

* `GET /webcast/fetch` (TikTokLive 7.x) and `GET /webcast/rooms/{room_id}/connect`
  (tiktok-live-connector 2.x): 200 with raw `ProtoMessageFetchResult` bytes, `X-Set-TT-Cookie`
  (ttwid first), `X-Room-Id`. Never a 200 with an empty body.
* `GET /webcast/anchors/{unique_id}/room_id`: `{code, ok, room_id, is_live}` (the connector's fallback).
* `GET /v1/rooms/{unique_id}`: room id, live status and room info.

Session fields (`session_id`, `tt_target_idc`, `x-cookie-header`, `x-oauth-token`) are accepted and never
logged or forwarded: the clients open the socket with their own cookie jar.
"""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

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
from ttsign.tiktok.rooms import RoomError
from ttsign.tiktok.webcast import ConnectError, ConnectRequest

router = APIRouter(tags=["client-compatible"])
ROOM_ID = re.compile(r"^[0-9]{1,25}$")
ROOM_ERRORS = {"not_found": 404, "bad_input": 400, "region_blocked": 451, "bot_walled": 502, "upstream": 502}


def _client(request: Request) -> Any:
    client = services(request).upstream
    if client is None:
        raise ApiError(503, "live connect is not configured on this server")
    return client


async def _connect(request: Request, room_id: str) -> Response:
    q = request.query_params
    if not ROOM_ID.match(room_id or ""):
        raise ApiError(400, "room_id must be the numeric id of a TikTok LIVE room")
    if q.get("platform", "web") == "mobile":
        raise ApiError(400, "platform=mobile is not supported by ttsign; use platform=web")
    if q.get("platform", "web") not in ("web", ""):
        raise ApiError(400, "platform must be 'web' (the only platform ttsign connects)")
    ua = check_user_agent(q.get("user_agent")) or services(request).signer.default_preset.user_agent
    cursor = q.get("cursor", "")
    if len(cursor) > 512:
        raise ApiError(400, "cursor is longer than 512 characters")
    try:
        result = await _client(request).strategy.connect(ConnectRequest(room_id, ua, cursor))
    except ConnectError as exc:
        if exc.kind == "identity":
            wait = str(max(1, math.ceil(exc.retry_after_s)))
            raise ApiError(503, f"no TikTok identity available: {exc}", headers={"Retry-After": wait}) from None
        raise ApiError(502, f"TikTok upstream failed: {exc}") from None
    cookie = result.set_tt_cookie()
    if not result.body or not cookie:
        raise ApiError(502, "TikTok upstream gave no usable fetch result or cookie")
    return Response(
        result.body,
        media_type="application/x-protobuf",
        headers={"X-Set-TT-Cookie": cookie, "X-Room-Id": result.room_id, "X-Connect-Strategy": result.strategy},
    )


@router.get(
    "/webcast/fetch",
    summary="Connect bootstrap for TikTokLive (protobuf fetch result)",
    openapi_extra=connect_query(ROOM_ID.pattern),
    response_class=Response,
    responses=responses(PROTOBUF_OK, *ANY, *KEYED, *UPSTREAM),
)
async def webcast_fetch(request: Request) -> Response:
    return await _connect(request, request.query_params.get("room_id", ""))


@router.get(
    "/webcast/rooms/{room_id}/connect",
    summary="Connect bootstrap for tiktok-live-connector",
    openapi_extra=connect_query(),
    response_class=Response,
    responses=responses(PROTOBUF_OK, *ANY, *KEYED, *UPSTREAM, *PATH_ID),
)
async def room_connect(request: Request, room_id: str) -> Response:
    return await _connect(request, room_id)


def _room_error(exc: RoomError) -> ApiError:
    return ApiError(ROOM_ERRORS.get(exc.kind, 502), str(exc), extra={"reason": exc.kind})


@router.get(
    "/webcast/anchors/{unique_id}/room_id",
    summary="Room id and live status (connector fallback)",
    responses=responses(AnchorRoom, *ANY, *KEYED, *UPSTREAM, *PATH_ID, 451),
)
async def anchor_room_id(request: Request, unique_id: str) -> JSONResponse:
    try:
        found = await _client(request).rooms.lookup(unique_id)
    except RoomError as exc:
        err = _room_error(exc)
        return JSONResponse(
            {"code": err.status, "ok": False, "room_id": None, "is_live": False, "message": err.message},
            status_code=err.status,
        )
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
    summary="Room id, live status and room info for a username",
    responses=responses(RoomOut, *ANY, *KEYED, *UPSTREAM, *PATH_ID, 451),
)
async def v1_room(request: Request, unique_id: str) -> JSONResponse:
    client = _client(request)
    try:
        found = await client.rooms.lookup(unique_id)
    except RoomError as exc:
        raise _room_error(exc) from None
    data = found.summary()
    if found.room_id and found.is_live:
        try:
            info = await client.rooms.room_info(found.room_id)
        except RoomError:
            info = {}
        if info:
            data["title"] = data["title"] or info.get("title")
            data["viewer_count"] = data["viewer_count"] or info.get("user_count")
            data["start_time"] = data["start_time"] or info.get("create_time")
            data["stream_urls"] = data["stream_urls"] or info.get("stream_url")
            data["is_live"] = info.get("status", 2) != 4
    return JSONResponse({"code": 200, "data": data})
