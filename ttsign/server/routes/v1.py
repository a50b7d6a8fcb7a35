"""The native API: `POST /v1/sign` (everything the Signer returns) and `POST /v1/decode`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ttsign.algorithms.decode import decode_token
from ttsign.algorithms.errors import TokenError
from ttsign.server import logs
from ttsign.server.deps import services, timed_sign
from ttsign.server.errors import ApiError
from ttsign.server.openapi import ANY, BODY, KEYED, DecodeOut, NativeSignOut, json_body, responses
from ttsign.server.validation import (
    check_body,
    check_method,
    check_ms_token,
    check_url,
    check_user_agent,
    field,
    parse_json_object,
)

router = APIRouter(prefix="/v1", tags=["native"])

_SIGN = json_body(
    {
        "url": {"type": "string", "example": "https://www.tiktok.com/api/user/detail/?aid=1988"},
        "method": {"type": "string", "default": "GET"},
        "body": {"type": "string", "description": "the exact body that will be sent"},
        "user_agent": {"type": "string"},
        "ms_token": {"type": "string", "description": "a real msToken to pass through"},
    },
    required=("url",),
)
_DECODE = json_body({"token": {"type": "string"}}, required=("token",))


@router.post(
    "/sign",
    openapi_extra=_SIGN,
    summary="Sign any TikTok URL: signed URL, tokens, headers, navigator",
    responses=responses(NativeSignOut, *ANY, *KEYED, *BODY),
)
async def v1_sign(request: Request) -> JSONResponse:
    svc = services(request)
    data = parse_json_object(await request.body(), request.headers.get("content-type", ""))
    parsed = check_url(field(data, "url", required=True), svc.settings)
    method = check_method(field(data, "method"))
    body = check_body(field(data, "body"), svc.settings)
    ua = check_user_agent(field(data, "user_agent"))
    ms_token = check_ms_token(field(data, "ms_token"))
    logs.add_secrets(ms_token, parsed.ms_token)
    signed = timed_sign(svc, parsed, method, body, ua, ms_token)
    return JSONResponse({"code": 200, "data": signed.to_dict()})


@router.post(
    "/decode",
    openapi_extra=_DECODE,
    summary="Decode an X-Bogus, X-Gnarly, X-Dynosaur or x-tt-params",
    responses=responses(DecodeOut, *ANY, *KEYED, *BODY),
)
async def v1_decode(request: Request) -> JSONResponse:
    data = parse_json_object(await request.body(), request.headers.get("content-type", ""))
    token = field(data, "token", required=True)
    if len(token) > 16384:
        raise ApiError(413, "token is longer than 16384 characters")
    try:
        decoded = decode_token(token)
    except TokenError as exc:
        raise ApiError(400, f"cannot decode token: {exc}") from None
    return JSONResponse({"code": 200, "data": decoded})
