"""Client-compatible signing: `POST /webcast/sign_url` (TikTokLive 7.x) and `POST /tiktok/sign_url`
(tiktok-live-connector 2.x). Shapes: shared/protocol/live-connect.md §1.1b and §1.2b.

Request JSON: `url` (X-Bogus/X-Gnarly/msToken already stripped by the client), `userAgent`, `method`,
`type` (xhr|fetch), `payload`, `sessionId`, `ttTargetIdc`. The session fields are accepted and never
logged or used: session cookies are not signing inputs.

Response: `{code:200, message, response:{signedUrl, userAgent, browserName, browserVersion, tokens,
requestHeaders, cookies}}`. `signedUrl` always carries `msToken` (TikTokLive rejects it otherwise; empty
when we hold no real token) and `tokens` always has at least msToken (the connector needs >= 1 key).
A denial (a host we do not sign) is HTTP 200 with `code:403` on TikTokLive's route, which it raises as
PremiumEndpointError, and HTTP 403 on the connector's route, which it raises as PremiumFeatureError.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ttsign.server import logs
from ttsign.server.deps import services, timed_sign
from ttsign.server.errors import ApiError, long_enough
from ttsign.server.openapi import ANY, BODY, KEYED, SignUrlSigned, json_body, responses
from ttsign.server.validation import (
    check_body,
    check_method,
    check_url,
    check_user_agent,
    field,
    parse_json_object,
)

router = APIRouter(tags=["client-compatible"])

_BODY = json_body(
    {
        "url": {"type": "string", "example": "https://webcast.tiktok.com/webcast/gift/list/?aid=1988"},
        "userAgent": {"type": "string"},
        "method": {"type": "string", "enum": ["GET", "POST"]},
        "type": {"type": "string", "enum": ["xhr", "fetch"]},
        "payload": {"type": "string"},
        "sessionId": {"type": "string"},
        "ttTargetIdc": {"type": "string"},
    },
    required=("url",),
)


async def _sign(request: Request, *, denial_in_body: bool) -> JSONResponse:
    svc = services(request)
    data = parse_json_object(await request.body(), request.headers.get("content-type", ""))
    url = field(data, "url", required=True)
    for name in ("sessionId", "ttTargetIdc", "type"):
        logs.add_secrets(field(data, name))  # type-checked, deliberately unused, never logged
    try:
        parsed = check_url(url, svc.settings)
    except ApiError as err:
        if err.extra.get("reason") == "host_not_allowed":
            if denial_in_body:
                return JSONResponse({"code": 403, "message": long_enough(err.message)})
            raise ApiError(403, err.message) from None
        raise
    method = check_method(field(data, "method"))
    body = check_body(field(data, "payload"), svc.settings, "payload")
    ua = check_user_agent(field(data, "userAgent"), "userAgent")
    logs.add_secrets(parsed.ms_token)
    signed = timed_sign(svc, parsed, method, body, ua, None)
    nav = signed.navigator
    response: dict[str, Any] = {
        "signedUrl": signed.url,
        "userAgent": signed.user_agent,
        "browserName": nav.browser_name,
        "browserVersion": nav.browser_version,
        "tokens": dict(signed.tokens),
        "requestHeaders": dict(signed.headers),
        "cookies": [],
    }
    return JSONResponse({"code": 200, "message": "URL signed by ttsign", "response": response})


@router.post(
    "/webcast/sign_url",
    openapi_extra=_BODY,
    summary="Sign a URL (TikTokLive 7.x)",
    responses=responses(SignUrlSigned, *ANY, *KEYED, *BODY),
)
async def webcast_sign_url(request: Request) -> JSONResponse:
    return await _sign(request, denial_in_body=True)


@router.post(
    "/tiktok/sign_url",
    openapi_extra=_BODY,
    summary="Sign a URL (tiktok-live-connector 2.x)",
    responses=responses(SignUrlSigned, *ANY, *KEYED, *BODY, 403),
)
async def tiktok_sign_url(request: Request) -> JSONResponse:
    return await _sign(request, denial_in_body=False)
