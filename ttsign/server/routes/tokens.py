"""`POST /v1/tokens`: a short-lived token that opens one room's relay streams, for a browser (issue 12).

The caller holds an API key (or, in open mode, is this machine); the token it gets opens only the room it
names, only until it expires, and counts against that caller's relay limits. See `ttsign.relay.tokens`
for the format and what an empty `TTSIGN_TOKEN_SECRET` means with several processes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ttsign.relay.tokens import RoomTokens
from ttsign.server.deps import services
from ttsign.server.errors import ApiError
from ttsign.server.models import Text, parse_body, request_body
from ttsign.server.openapi import ANY, BODY, KEYED, responses
from ttsign.tiktok.rooms import RoomError, normalize_unique_id

router = APIRouter(prefix="/v1", tags=["native"])
DEFAULT_TTL_S = 3600


class TokenIn(BaseModel):
    """`POST /v1/tokens`: the room the token opens and how long it lives."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    room: Annotated[Text, Field(json_schema_extra={"maxLength": 200})] = Field(
        description="the TikTok username of the LIVE room (`name` or `@name`)"
    )
    ttl: int | None = Field(
        None,
        description=f"seconds the token is valid (default {DEFAULT_TTL_S}, at most TTSIGN_TOKEN_MAX_TTL); "
        "it is checked when a stream opens, so cover the whole stream",
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    token: str = Field(description="pass it as `?token=` on the room's relay paths; it is a secret, like a key")
    room: str = Field(description="the room it opens (normalised: no `@`, lower case)")
    expires_at: int = Field(description="unix seconds after which it no longer opens a stream")
    ttl: int = Field(description="seconds it is valid from now")
    overlay: str = Field(description="the room's OBS overlay path with this token (`GET /overlay/{room}`)")
    events: str = Field(description="the room's SSE path with this token (`GET /v1/rooms/{room}/events`)")


TOKEN_BODY = request_body(TokenIn, {"an hour for one room": {"room": "tiktok", "ttl": 3600}})


def room_tokens(request: Request) -> RoomTokens:
    """The app's token signer: the same secret as the middleware's (the setting, or this process's own)."""
    return RoomTokens.from_settings(services(request).settings)


@router.post(
    "/tokens",
    openapi_extra=TOKEN_BODY,
    summary="A short-lived token that opens one room's relay streams (for browsers and OBS overlays)",
    responses=responses(TokenOut, *ANY, *KEYED, *BODY),
)
async def create_token(request: Request) -> JSONResponse:
    data = parse_body(TokenIn, await request.body(), request.headers.get("content-type", ""))
    try:
        room = normalize_unique_id(data.room.strip()).lower()
    except RoomError as err:
        raise ApiError(400, str(err)) from None
    tokens = room_tokens(request)
    ttl = DEFAULT_TTL_S if data.ttl is None else data.ttl
    ttl = min(ttl, tokens.max_ttl_s) if data.ttl is None else ttl
    if not 1 <= ttl <= tokens.max_ttl_s:
        raise ApiError(422, f"field 'ttl' must be 1..{tokens.max_ttl_s} seconds (TTSIGN_TOKEN_MAX_TTL)")
    owner = str(request.scope.get("state", {}).get("caller") or "anonymous")
    token, expires_at = tokens.issue(room, ttl, owner)
    return JSONResponse(
        {
            "token": token,
            "room": room,
            "expires_at": expires_at,
            "ttl": ttl,
            "overlay": f"/overlay/{room}?token={token}",
            "events": f"/v1/rooms/{room}/events?token={token}",
        },
        headers={"Cache-Control": "no-store"},
    )
