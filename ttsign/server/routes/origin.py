"""The origin proof-of-concept's API: `POST /signature` (text/plain URL) and `POST /sign` (JSON).

Response: `{"status":"ok","data":{signature, signed_url, X-Bogus, X-Gnarly, X-Dynosaur, msToken,
x-tt-params, navigator}, "response_time_ms": N}`. `signature` is the legacy `_signature`, which
TikTok no longer checks (tokens.md §6); it is kept because the origin API returned it. Token fields hold
what the signed URL carries; a token the route must not carry (X-Gnarly/X-Dynosaur on webcast
`im/fetch`, which TikTok answers with 403) is an empty string. Every product comes from one call of the
signing service (`legacy=True`).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ttsign.providers.base import SignJob
from ttsign.server import logs, signing_call
from ttsign.server.deps import services
from ttsign.server.errors import ApiError
from ttsign.server.models import (
    ORIGIN_SIGN_BODY,
    SIGNATURE_BODY,
    OriginSigned,
    OriginSignIn,
    SignatureJsonIn,
    origin_answer,
    parse_body,
)
from ttsign.server.openapi import ANY, BODY, KEYED, responses
from ttsign.server.validation import check_charset, check_url, decode_text, media_type
from ttsign.signing.policy import ParsedURL

router = APIRouter(tags=["origin"])


async def _answer(
    request: Request, url: str, parsed: ParsedURL, user_agent: str | None, ms_token: str | None
) -> JSONResponse:
    started = time.perf_counter()
    answer = await signing_call.sign(request, SignJob(url, parsed, "GET", b"", user_agent, ms_token, legacy=True))
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    return JSONResponse(origin_answer(answer, elapsed), headers=signing_call.provider_headers(answer))


@router.post(
    "/signature",
    openapi_extra=SIGNATURE_BODY,
    summary="Sign a URL sent as a text/plain body",
    responses=responses(OriginSigned, *ANY, *KEYED, *BODY),
)
async def post_signature(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    ct = media_type(content_type)
    raw = await request.body()
    if ct == "application/json":
        url = parse_body(SignatureJsonIn, raw, content_type).url
    elif ct in ("", "text/plain", "application/x-www-form-urlencoded"):
        check_charset(content_type)
        url = decode_text(raw)
    else:
        raise ApiError(415, f"expected a text/plain body holding the URL, got Content-Type {ct}")
    parsed = check_url(url, services(request).settings)
    return await _answer(request, url.strip(), parsed, None, None)


@router.post(
    "/sign",
    openapi_extra=ORIGIN_SIGN_BODY,
    summary="Sign a URL sent as JSON {room_url} or {url}",
    responses=responses(OriginSigned, *ANY, *KEYED, *BODY),
)
async def post_sign(request: Request) -> JSONResponse:
    body = parse_body(OriginSignIn, await request.body(), request.headers.get("content-type", ""))
    url = body.room_url or body.url
    if not url:
        raise ApiError(400, "missing field 'room_url' (or 'url') holding the TikTok URL")
    parsed = check_url(url, services(request).settings)
    logs.add_secrets(body.ms_token, parsed.ms_token)
    return await _answer(request, url.strip(), parsed, body.user_agent or None, body.ms_token)
