"""What `/openapi.json` says about each route: request bodies and query parameters the routes parse
themselves, every status and content type a route can answer, the error body, and the API-key schemes.

Routes read their own bodies and queries (to give precise 4xx errors), so FastAPI cannot infer any of
this: each decorator passes `responses=responses(...)` and, where it parses input itself,
`openapi_extra=`. The schema is checked against the running app by `tests/api/test_schemathesis.py`
(status, content type, headers and body of every answer).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field

from ttsign.server.errors import MIN_MESSAGE
from ttsign.server.middleware import PUBLIC_PATHS
from ttsign.server.models import (  # noqa: F401  (the signing routes' answers live with their bodies)
    Decoded,
    DecodeOut,
    NativeSigned,
    NativeSignOut,
    Navigator,
    OriginSigned,
    OriginTokens,
    SignUrlResult,
    SignUrlSigned,
)

# ---- request bodies and parameters ------------------------------------------------------------------


def json_body(properties: dict[str, dict[str, Any]], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """`openapi_extra` for a JSON object body with these string-typed properties."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def text_body(example: str) -> dict[str, Any]:
    """`openapi_extra` for a text/plain body."""
    return {
        "requestBody": {
            "required": True,
            "content": {"text/plain": {"schema": {"type": "string", "example": example}}},
        }
    }


def _query(name: str, schema: dict[str, Any], description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def connect_query(room_id_pattern: str | None = None) -> dict[str, Any]:
    """`openapi_extra` for the connect routes' query (live-connect.md §1.1a, §1.2a).

    With `room_id_pattern`, `room_id` is a required query parameter (`/webcast/fetch`); the connector's
    route has it in the path instead.
    """
    params = [
        _query("client", {"type": "string"}, "the calling library (ttlive-python, ttlive-node); informational"),
        _query("user_agent", {"type": "string", "maxLength": 1024}, "the client's User-Agent for the socket"),
        _query("client_enter", {"type": "string"}, "sent as `true` by both clients; ignored"),
        _query("platform", {"type": "string", "enum": ["web"]}, "`web` (the default); `mobile` is refused"),
        _query("cursor", {"type": "string", "maxLength": 512}, "a reconnect cursor; empty on a first connect"),
        _query("tt_target_idc", {"type": "string"}, "accepted, never used or logged"),
        _query("session_id", {"type": "string"}, "accepted, never used or logged"),
        _query("country", {"type": "string"}, "accepted; ignored"),
    ]
    if room_id_pattern is not None:
        room = {"type": "string", "pattern": room_id_pattern}
        params.insert(1, _query("room_id", room, "the numeric id of the LIVE room", required=True))
    return {"parameters": params}


# ---- top level: tags, docs pages ------------------------------------------------------------------

TAGS: list[dict[str, Any]] = [
    {
        "name": "client-compatible",
        "description": "What TikTokLive 7.x and tiktok-live-connector 2.x call: set `SIGN_API_URL` to this server",
    },
    {"name": "native", "description": "ttsign's own API: sign any TikTok web URL, decode a token, look up a room"},
    {"name": "origin", "description": "The origin proof-of-concept's API, kept for its callers"},
    {"name": "ops", "description": "Health, metrics, your rate limits, and the landing page"},
]
"""The sections of `/docs` and `/redoc`, in this order."""
SWAGGER_UI: dict[str, Any] = {"validatorUrl": None, "persistAuthorization": True, "displayRequestDuration": True}
"""Swagger UI options: no spec validator (it would call validator.swagger.io), the key kept across reloads."""


# ---- API keys ---------------------------------------------------------------------------------------

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": "what both clients send"},
    "Bearer": {"type": "http", "scheme": "bearer", "description": "the same key as `Authorization: Bearer KEY`"},
    "AdminKey": {"type": "apiKey", "in": "header", "name": "X-Admin-Key", "description": "TTSIGN_ADMIN_KEYS"},
    "AdminBearer": {"type": "http", "scheme": "bearer", "description": "an admin key as `Authorization: Bearer KEY`"},
}
KEY_REQUIRED: list[dict[str, list[str]]] = [{"ApiKey": []}, {"Bearer": []}]
"""Either scheme (when the server has keys; open mode on loopback takes none)."""


def install(app: FastAPI) -> None:
    """Add the API-key schemes to `app`'s schema: every operation outside `PUBLIC_PATHS` takes a key.

    Schema only: `RequestGuard` checks keys before routing, so no per-request dependency is added (a
    FastAPI security dependency would cost every request ~20 us just to document the header).
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = build()  # FastAPI caches it in app.openapi_schema
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for path, operations in schema.get("paths", {}).items():
                if path not in PUBLIC_PATHS:
                    for operation in operations.values():
                        operation.setdefault("security", KEY_REQUIRED)  # the admin routes declare their own
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# ---- response bodies ----------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    """Every error answer. `code` is the HTTP status, `message` says what to fix (never shorter than
    19 characters: tiktok-live-connector's banner crashes on shorter ones). Some routes add fields
    (`reason`, `limit_label`, `ok`, ...)."""

    model_config = ConfigDict(extra="allow")
    code: int
    message: str = Field(min_length=MIN_MESSAGE)


class Health(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    timestamp: int
    version: str
    components: dict[str, Any]


class LimitRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    label: str
    limit: int
    window_seconds: int
    remaining: int
    used: int
    reset_at: int


class RateLimitsOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: int
    message: str
    caller: str
    limits: list[LimitRow]


class AnchorRoom(BaseModel):
    """The connector's room-id fallback (live-connect.md §1.2c). Errors have the same shape with
    `ok: false` and the HTTP status in `code`."""

    model_config = ConfigDict(extra="allow")
    code: int
    ok: bool
    room_id: str | None
    is_live: bool
    message: str | None = None


class RoomSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    unique_id: str
    room_id: str | None
    is_live: bool
    source: str | None = None
    nickname: str | None = None


class RoomOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: int
    data: RoomSummary


# ---- responses -----------------------------------------------------------------------------------

_INT = {"type": "integer", "minimum": 0}


def _header(description: str, *, required: bool = False, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema or {"type": "string"}}


_RETRY_AFTER = _header("seconds to wait before retrying", required=True, schema=_INT)
ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    400: {"description": "Bad input: a malformed body, URL, id or header (the message names it)"},
    401: {
        "description": "Missing or wrong API key (when the server has keys)",
        "headers": {"WWW-Authenticate": _header("the schemes to authenticate with", required=True)},
    },
    403: {"description": "A URL on a host ttsign does not sign, or admin routes off (no TTSIGN_ADMIN_KEYS)"},
    404: {"description": "No such TikTok user or room, or an id that matches no route"},
    408: {
        "description": "The request head or body did not arrive in time (TTSIGN_HEADER_TIMEOUT, TTSIGN_BODY_TIMEOUT)"
    },
    413: {"description": "The request, its body, URL or token is larger than the server accepts"},
    414: {"description": "A request target (path and query) longer than the server accepts"},
    415: {"description": "A Content-Type or charset the route does not read"},
    422: {"description": "A field of the body has the wrong type"},
    429: {
        "description": "Rate limit used up for this caller, or too many failed API keys from this address",
        "headers": {
            "Retry-After": _RETRY_AFTER,
            "RateLimit-Remaining": _header("the seconds to wait (what TikTokLive reads)", required=True, schema=_INT),
            "RateLimit-Reset": _header("unix seconds when the limit resets", required=True, schema=_INT),
            "X-RateLimit-Reset": _header("unix seconds when the limit resets", required=True, schema=_INT),
            "RateLimit-Limit": _header("the limit that is used up", required=True, schema=_INT),
        },
    },
    431: {"description": "Request headers larger than the server accepts (TTSIGN_MAX_HEADER_BYTES)"},
    451: {"description": "TikTok refuses this room in the server's region"},
    500: {"description": "An internal error (logged with the request id)"},
    502: {"description": "TikTok failed or answered something unusable"},
    503: {
        "description": "No TikTok identity available yet, TikTok rate limiting this server, live connect not "
        "configured, the server at its connection cap or shutting down, or maintenance mode (signing and connects)",
        "headers": {"Retry-After": _header("seconds to wait, when known", schema=_INT)},
    },
    504: {"description": "TikTok did not answer within TTSIGN_UPSTREAM_TIMEOUT"},
}
"""Every error status ttsign sends, each with a JSON `ErrorBody`. 499 is only a log label (the
client went away), never sent."""

ANY = (400, 408, 413, 414, 431, 500, 503)
"""What any route can answer: a malformed, slow or oversize request (refused by the transport or before
routing), the connection cap or a shutdown (503), or a bug (500)."""
KEYED = (401, 429)
"""Routes behind the API key: a missing/wrong key, a used-up rate limit."""
BODY = (415, 422)
"""Routes that read a body."""
UPSTREAM = (502, 503, 504)
"""Routes that call TikTok."""
PATH_ID = (404, 422)
"""Routes with an id in the path: an id holding `/` matches no route (404); 422 replaces FastAPI's own
`HTTPValidationError` entry, which ttsign never sends (its validation errors are `ErrorBody` too)."""


def _error(status: int) -> dict[str, Any]:
    return {"model": ErrorBody, **ERROR_RESPONSES[status]}


def responses(ok: type[BaseModel] | dict[str, Any], *statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: its 200 (a JSON model, or a full response object such as
    `binary_ok(...)`) and these error statuses (see `ERROR_RESPONSES`), each with a JSON `ErrorBody`."""
    out: dict[int | str, dict[str, Any]] = {200: ok if isinstance(ok, dict) else {"model": ok}}
    for status in sorted(set(statuses)):
        out[status] = _error(status)
    return out


def binary_ok(media_type: str, description: str, headers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A 200 that is not JSON (use with `response_class=Response` so no JSON 200 is listed)."""
    return {
        "description": description,
        "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        "headers": headers,
    }


PROTOBUF_OK = binary_ok(
    "application/x-protobuf",
    "Raw `ProtoMessageFetchResult` bytes (never empty)",
    {
        "X-Set-TT-Cookie": _header("the socket's cookies, ttwid first", required=True),
        "X-Room-Id": _header("the room id the socket is for", required=True, schema={"type": "string"}),
        "X-Connect-Strategy": _header("how the result was made: direct or relay"),
    },
)
HEAD_OK = {"description": "The server is up: the GET's status and headers, no body"}
METRICS_OK = {
    "description": "Prometheus text exposition",
    "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
}
