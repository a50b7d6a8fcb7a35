"""Client-compatible signing: `POST /webcast/sign_url` (TikTokLive 7.x) and `POST /tiktok/sign_url`
(tiktok-live-connector 2.x). Shapes: shared/protocol/live-connect.md §1.1b and §1.2b.

Request JSON (`models.SignUrlIn`): `url` (X-Bogus/X-Gnarly/msToken already stripped by the client),
`userAgent`, `method`, `type` (xhr|fetch), `payload`, `sessionId`, `ttTargetIdc`. The session fields are
accepted and never logged or used: session cookies are not signing inputs.

Response: `{code:200, message, response:{signedUrl, userAgent, browserName, browserVersion, tokens,
requestHeaders, cookies}}`. `signedUrl` always carries `msToken` (TikTokLive rejects it otherwise; empty
when we hold no real token) and `tokens` always has at least msToken (the connector needs >= 1 key).
A denial (a host we do not sign) is HTTP 200 with `code:403` on TikTokLive's route, which it raises as
PremiumEndpointError, and HTTP 403 on the connector's route, which it raises as PremiumFeatureError.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ttsign.providers.base import SignJob
from ttsign.server import logs, signing_call
from ttsign.server.deps import services
from ttsign.server.errors import ApiError, long_enough
from ttsign.server.models import SIGN_URL_BODY, SignUrlIn, SignUrlSigned, parse_body, sign_url_answer
from ttsign.server.openapi import ANY, BODY, KEYED, responses
from ttsign.server.validation import check_body, check_url

router = APIRouter(tags=["client-compatible"])


async def _sign(request: Request, *, denial_in_body: bool) -> JSONResponse:
    svc = services(request)
    data = parse_body(SignUrlIn, await request.body(), request.headers.get("content-type", ""))
    logs.add_secrets(data.sessionId, data.ttTargetIdc, data.ttwid, data.type)  # type-checked, unused, never logged
    try:
        parsed = check_url(data.url, svc.settings)
    except ApiError as err:
        if err.extra.get("reason") == "host_not_allowed":
            if denial_in_body:
                return JSONResponse({"code": 403, "message": long_enough(err.message)})
            raise ApiError(403, err.message) from None
        raise
    body = check_body(data.payload, svc.settings, "payload")
    logs.add_secrets(parsed.ms_token)
    job = SignJob(data.url, parsed, (data.method or "GET").upper(), body.encode(), data.userAgent or None, None)
    answer = await signing_call.sign(request, job)
    return JSONResponse(sign_url_answer(answer.result.request), headers=signing_call.provider_headers(answer))


@router.post(
    "/webcast/sign_url",
    openapi_extra=SIGN_URL_BODY,
    summary="Sign a URL (TikTokLive 7.x)",
    responses=responses(SignUrlSigned, *ANY, *KEYED, *BODY),
)
async def webcast_sign_url(request: Request) -> JSONResponse:
    return await _sign(request, denial_in_body=True)


@router.post(
    "/tiktok/sign_url",
    openapi_extra=SIGN_URL_BODY,
    summary="Sign a URL (tiktok-live-connector 2.x)",
    responses=responses(SignUrlSigned, *ANY, *KEYED, *BODY, 403),
)
async def tiktok_sign_url(request: Request) -> JSONResponse:
    return await _sign(request, denial_in_body=False)


@router.post(
    "/tiktok/signing/encrypt/sign_url",
    openapi_extra=SIGN_URL_BODY,
    summary="Sign a URL (Euler's SDKs: tiktok-live-api-sdk 0.6, EulerApiSdk 0.5)",
    responses=responses(SignUrlSigned, *ANY, *KEYED, *BODY),
)
async def euler_sign_url(request: Request) -> JSONResponse:
    return await _sign(request, denial_in_body=True)
