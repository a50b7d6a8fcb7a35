"""The native API: `POST /v1/sign` (everything the Signer returns) and `POST /v1/decode`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ttsign.algorithms.errors import TokenError
from ttsign.providers.base import SignJob
from ttsign.server import logs, signing_call
from ttsign.server.deps import services
from ttsign.server.errors import ApiError
from ttsign.server.models import (
    DECODE_BODY,
    NATIVE_SIGN_BODY,
    DecodeIn,
    DecodeOut,
    NativeSignIn,
    NativeSignOut,
    decode_answer,
    native_sign_answer,
    parse_body,
)
from ttsign.server.openapi import ANY, BODY, KEYED, responses
from ttsign.server.validation import check_body, check_url

router = APIRouter(prefix="/v1", tags=["native"])
MAX_TOKEN_CHARS = 16384


@router.post(
    "/sign",
    openapi_extra=NATIVE_SIGN_BODY,
    summary="Sign any TikTok URL: signed URL, tokens, headers, navigator",
    responses=responses(NativeSignOut, *ANY, *KEYED, *BODY),
)
async def v1_sign(request: Request) -> JSONResponse:
    svc = services(request)
    data = parse_body(NativeSignIn, await request.body(), request.headers.get("content-type", ""))
    parsed = check_url(data.url, svc.settings)
    body = check_body(data.body, svc.settings)
    logs.add_secrets(data.ms_token, parsed.ms_token)
    job = SignJob(
        data.url,
        parsed,
        (data.method or "GET").upper(),
        body.encode(),
        data.user_agent or None,
        data.ms_token,
        provider=data.provider,
    )
    answer = await signing_call.sign(request, job)
    return JSONResponse(native_sign_answer(answer), headers=signing_call.provider_headers(answer))


@router.post(
    "/decode",
    openapi_extra=DECODE_BODY,
    summary="Decode an X-Bogus, X-Gnarly, X-Dynosaur or x-tt-params",
    responses=responses(DecodeOut, *ANY, *KEYED, *BODY),
)
async def v1_decode(request: Request) -> JSONResponse:
    svc = services(request)
    token = parse_body(DecodeIn, await request.body(), request.headers.get("content-type", "")).token
    if len(token) > MAX_TOKEN_CHARS:
        raise ApiError(413, f"token is longer than {MAX_TOKEN_CHARS} characters")
    try:
        decoded = svc.signing.decode(token)
    except TokenError as exc:
        raise ApiError(400, f"cannot decode token: {exc}") from None
    return JSONResponse(decode_answer(decoded))
