"""The origin proof-of-concept's API: `POST /signature` (text/plain URL) and `POST /sign` (JSON).

Response: `{"status":"ok","data":{signature, signed_url, X-Bogus, X-Gnarly, X-Dynosaur, msToken,
x-tt-params, navigator}, "response_time_ms": N}`. `signature` is the legacy `_signature`, which
TikTok no longer checks (tokens.md §6); it is kept because the origin API returned it. Token fields hold
what the signed URL carries; a token the route must not carry (X-Gnarly/X-Dynosaur on webcast
`im/fetch`, which TikTok answers with 403) is an empty string.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ttsign.algorithms import signature, ttparams
from ttsign.algorithms.navigator import navigator_dict
from ttsign.server import logs, metrics
from ttsign.server.deps import services, timed_sign
from ttsign.server.errors import ApiError
from ttsign.server.openapi import ANY, BODY, KEYED, OriginSigned, json_body, responses, text_body
from ttsign.server.validation import (
    check_charset,
    check_ms_token,
    check_url,
    check_user_agent,
    decode_text,
    field,
    media_type,
    parse_json_object,
)
from ttsign.signing.policy import ParsedURL

router = APIRouter(tags=["origin"])

_SIGN_BODY = json_body(
    {
        "room_url": {"type": "string", "example": "https://www.tiktok.com/@someone/live"},
        "url": {"type": "string"},
        "user_agent": {"type": "string"},
        "ms_token": {"type": "string"},
    }
)
_SIGNATURE_BODY = text_body("https://www.tiktok.com/@someone/live")


def origin_payload(
    request: Request, url: str, parsed: ParsedURL, user_agent: str | None, ms_token: str | None
) -> dict[str, Any]:
    svc = services(request)
    started = time.perf_counter()
    signed = timed_sign(svc, parsed, "GET", b"", user_agent, ms_token)
    t_sign = time.perf_counter()
    legacy = signature.legacy_signature(url, signed.user_agent, signed.timestamp, "www.tiktok.com/")
    query = signed.signed_query.split("&X-Dynosaur=", 1)[0]
    tt_params = ttparams.encrypt(f"{query}&is_encryption=1" if query else "is_encryption=1")
    done = time.perf_counter()
    metrics.SIGN_LATENCY.labels("legacy+x-tt-params").observe(done - t_sign)
    tokens = signed.tokens
    return {
        "status": "ok",
        "data": {
            "signature": legacy,
            "signed_url": signed.url,
            "X-Bogus": tokens.get("X-Bogus", ""),
            "X-Gnarly": tokens.get("X-Gnarly", ""),
            "X-Dynosaur": tokens.get("X-Dynosaur", ""),
            "msToken": tokens.get("msToken", ""),
            "x-tt-params": tt_params,
            "navigator": navigator_dict(signed.navigator),
        },
        "response_time_ms": round((done - started) * 1000, 3),
    }


@router.post(
    "/signature",
    openapi_extra=_SIGNATURE_BODY,
    summary="Sign a URL sent as a text/plain body",
    responses=responses(OriginSigned, *ANY, *KEYED, *BODY),
)
async def post_signature(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    ct = media_type(content_type)
    raw = await request.body()
    if ct == "application/json":
        url = field(parse_json_object(raw, content_type), "url", required=True)
    elif ct in ("", "text/plain", "application/x-www-form-urlencoded"):
        check_charset(content_type)
        url = decode_text(raw)
    else:
        raise ApiError(415, f"expected a text/plain body holding the URL, got Content-Type {ct}")
    parsed = check_url(url, services(request).settings)
    return JSONResponse(origin_payload(request, url.strip(), parsed, None, None))


@router.post(
    "/sign",
    openapi_extra=_SIGN_BODY,
    summary="Sign a URL sent as JSON {room_url} or {url}",
    responses=responses(OriginSigned, *ANY, *KEYED, *BODY),
)
async def post_sign(request: Request) -> JSONResponse:
    data = parse_json_object(await request.body(), request.headers.get("content-type", ""))
    url = field(data, "room_url") or field(data, "url")
    if not url:
        raise ApiError(400, "missing field 'room_url' (or 'url') holding the TikTok URL")
    parsed = check_url(url, services(request).settings)
    ua = check_user_agent(field(data, "user_agent"))
    ms_token = check_ms_token(field(data, "ms_token"))
    logs.add_secrets(ms_token, parsed.ms_token)
    return JSONResponse(origin_payload(request, url.strip(), parsed, ua, ms_token))
